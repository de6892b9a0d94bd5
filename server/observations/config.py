"""Triage settings (ELDERCARE_TRIAGE_*): which guideline names a deployment's BP categories."""

from __future__ import annotations

from functools import lru_cache

from pydantic_settings import BaseSettings, SettingsConfigDict

import triage


class TriageSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="ELDERCARE_TRIAGE_", extra="ignore")

    # "thai_2019" (Thai Hypertension Society, grades from 140/90: a Thai deployment's default)
    # or "aha_acc_2017" (stages from 130/80). Crisis and hypotension are the same in both.
    bp_rules: triage.BpRulesName = "thai_2019"

    @property
    def blood_pressure(self) -> triage.BloodPressureRules:
        return triage.RULE_SET.blood_pressure_sets[self.bp_rules]


@lru_cache
def triage_settings() -> TriageSettings:
    return TriageSettings()
