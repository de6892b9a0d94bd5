"""A deployment chooses its blood-pressure set; readings recorded by the server follow it."""

from __future__ import annotations

from typing import ClassVar

import pytest

from server.observations import service
from server.observations.config import TriageSettings, triage_settings


def test_default_is_the_thai_guideline_and_aha_can_be_chosen(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("ELDERCARE_TRIAGE_BP_RULES", raising=False)
    assert TriageSettings().blood_pressure.name == "thai_2019"
    monkeypatch.setenv("ELDERCARE_TRIAGE_BP_RULES", "aha_acc_2017")
    assert TriageSettings().blood_pressure.name == "aha_acc_2017"
    monkeypatch.setenv("ELDERCARE_TRIAGE_BP_RULES", "jnc7")
    with pytest.raises(ValueError, match="thai_2019"):
        TriageSettings()


def test_recorded_readings_are_judged_by_the_chosen_set(monkeypatch: pytest.MonkeyPatch) -> None:
    class Item:
        readings: ClassVar[dict[str, float]] = {"systolic": 135.0, "diastolic": 85.0}
        elder = None
        on_oxygen = False
        consciousness = None

    monkeypatch.setattr(service, "triage_input", lambda readings: readings)
    monkeypatch.setattr(service, "profile_for", lambda elder: None)
    for name, category in (("thai_2019", "high_normal"), ("aha_acc_2017", "stage_1")):
        monkeypatch.setenv("ELDERCARE_TRIAGE_BP_RULES", name)
        triage_settings.cache_clear()
        result = service._assess(Item(), None)  # type: ignore[arg-type]
        assert result.blood_pressure is not None
        assert result.blood_pressure.category == category
        assert result.reasons and any(r.key == f"triage.bp.rule_set.{name}" for r in result.reasons)
    triage_settings.cache_clear()
