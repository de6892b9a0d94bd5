"""Satisfaction-survey invitations (ELDERCARE_SURVEY_*)."""

from __future__ import annotations

from functools import lru_cache

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class SurveySettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="ELDERCARE_SURVEY_", extra="ignore")

    # Families are asked by SMS or LINE this long after help has come and gone, not during it.
    after_alert_minutes: float = Field(default=60, ge=0, le=7 * 24 * 60)
    # A home is asked about visits at most this often (0: never by link; staff still ask).
    visit_every_days: int = Field(default=30, ge=0, le=365)
    # Alerts and visits older than this are not asked about any more.
    ask_within_days: int = Field(default=7, ge=1, le=60)
    # How often a server process looks for people to ask.
    sweep_seconds: float = Field(default=60, gt=0, le=3600)


@lru_cache
def survey_settings() -> SurveySettings:
    return SurveySettings()
