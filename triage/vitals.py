"""One set of readings, judged together: each measurement, the partial NEWS2, one priority.

Decision support only; a home NEWS2 is partial and NEWS2 is not validated for remote care.
"""

from __future__ import annotations

from collections.abc import Mapping

from pydantic import BaseModel, ConfigDict

from triage.bp import BloodPressureAssessment, assess_blood_pressure
from triage.glucose import GlucoseAssessment, assess_glucose
from triage.memo import TABLE_SIZE, Memo, typed, typed_items
from triage.models import (
    Consciousness,
    Priority,
    Reason,
    most_urgent,
    parse_consciousness,
    priority_rank,
)
from triage.news2 import News2Result, news2_score
from triage.overrides import Overrides
from triage.profile import ElderProfile
from triage.reasons import DISCLAIMER, MEASUREMENT_CODES, reason
from triage.rules import RULE_SET, BloodPressureRules
from triage.spo2 import Spo2Assessment, assess_spo2
from triage.validate import ImplausibleReading, check_reading, display_number

# Known codes that no rule here uses; they are listed as ignored, like unknown codes.
_UNSCORED = frozenset({"mean_arterial_pressure"})


class VitalsAssessment(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    priority: Priority | None
    news2: News2Result
    blood_pressure: BloodPressureAssessment | None
    glucose: GlucoseAssessment | None
    spo2: Spo2Assessment | None
    consciousness: Consciousness | None
    on_oxygen: bool
    readings: dict[str, float]
    ignored: tuple[str, ...]
    rejected: dict[str, str]
    overrides_applied: tuple[str, ...]
    reasons: tuple[Reason, ...]
    rule_set_version: str


def assess_vitals(
    *,
    readings: Mapping[str, float],
    profile: ElderProfile | None = None,
    overrides: Overrides | None = None,
    on_oxygen: bool = False,
    consciousness: Consciousness | str | None = None,
    bp_rules: BloodPressureRules | None = None,
) -> VitalsAssessment:
    """Judge readings keyed by the wire protocol's measurement codes.

    Codes: systolic, diastolic, mean_arterial_pressure, pulse, spo2, glucose (mg/dL),
    temperature (°C), respiration_rate. Unknown codes (and mean arterial pressure, which no
    rule uses) are listed in `ignored`. An implausible value (NaN, wrong unit, out of range)
    is listed in `rejected`, raises a WHITE device-problem priority, and never stops the
    other readings from being judged. The priority is the most urgent of every part.
    `bp_rules` is the deployment's blood-pressure set (default: the Thai guideline).
    `profile` is accepted for symmetry with `prioritise_event`; no vital-sign rule uses it.
    """
    del profile  # the profile orders alerts (risk); it never changes a reading's meaning
    # The rules are long-lived settings and not hashable: keyed by identity, and a hit
    # counts only if it was computed with this very object.
    key = (typed_items(readings), overrides, typed(on_oxygen), typed(consciousness), id(bp_rules))
    found = _ASSESSED.get(key)
    if found is not None and found[0] is bp_rules:
        return found[1]
    assessed = _assess(
        readings=readings, overrides=overrides, on_oxygen=on_oxygen,
        consciousness=consciousness, bp_rules=bp_rules,
    )  # fmt: skip
    return _ASSESSED.put(key, (bp_rules, assessed))[1]


# Whole assessments by their inputs: a home's readings repeat (see triage.memo).
_ASSESSED: Memo[tuple[BloodPressureRules | None, VitalsAssessment]] = Memo(TABLE_SIZE)


def _assess(
    *,
    readings: Mapping[str, float],
    overrides: Overrides | None,
    on_oxygen: bool,
    consciousness: Consciousness | str | None,
    bp_rules: BloodPressureRules | None,
) -> VitalsAssessment:
    level = None if consciousness is None else parse_consciousness(consciousness)
    accepted: dict[str, float] = {}
    ignored: list[str] = []
    rejected: dict[str, str] = {}
    groups: list[tuple[Priority | None, list[Reason]]] = []

    for code, value in readings.items():
        if code not in MEASUREMENT_CODES or code in _UNSCORED:
            ignored.append(code)
            continue
        try:
            accepted[code] = check_reading(code, value)
        except ImplausibleReading as error:
            _reject(code, value, str(error), rejected, groups)

    blood_pressure = None
    if "systolic" in accepted and "diastolic" in accepted:
        try:
            blood_pressure = assess_blood_pressure(
                systolic=accepted["systolic"],
                diastolic=accepted["diastolic"],
                overrides=overrides,
                rules=bp_rules,
            )
            groups.append((blood_pressure.priority, list(blood_pressure.reasons)))
        except ValueError as error:  # diastolic not below systolic: both are suspect
            for code in ("systolic", "diastolic"):
                _reject(code, accepted.pop(code), str(error), rejected, groups)
    elif "systolic" in accepted or "diastolic" in accepted:
        groups.append((None, [reason("triage.bp.incomplete")]))

    glucose = None
    if "glucose" in accepted:
        glucose = assess_glucose(
            value=accepted["glucose"],
            unit="mg/dL",
            overrides=overrides,
            altered_mental_state=level is not None and level is not Consciousness.ALERT,
        )
        groups.append((glucose.priority, list(glucose.reasons)))

    scale = 1
    if overrides is not None and overrides.spo2_scale is not None:
        scale = overrides.spo2_scale
    spo2 = None
    if "spo2" in accepted:
        spo2 = assess_spo2(
            spo2=accepted["spo2"], scale=scale, on_oxygen=on_oxygen, overrides=overrides
        )
        groups.append((spo2.priority, list(spo2.reasons)))

    if level is not None and level.value in RULE_SET.consciousness.critical:
        groups.append((Priority.RED, [reason("triage.consciousness.critical")]))

    news2 = news2_score(
        spo2=accepted.get("spo2"),
        spo2_scale=scale,
        on_oxygen=on_oxygen,
        systolic=accepted.get("systolic"),
        pulse=accepted.get("pulse"),
        respiration_rate=accepted.get("respiration_rate"),
        temperature_c=accepted.get("temperature"),
        consciousness=level,
    )
    groups.append((news2.priority, list(news2.reasons)))

    # Most urgent explanation first; equal priorities keep the order above.
    groups.sort(key=lambda group: priority_rank(group[0]))
    reasons = [item for _, group in groups for item in group]
    reasons.append(reason(DISCLAIMER))

    applied: list[str] = []
    for part in (blood_pressure, glucose, spo2):
        if part is not None:
            applied.extend(name for name in part.overrides_applied if name not in applied)

    return VitalsAssessment(
        priority=most_urgent(priority for priority, _ in groups),
        news2=news2,
        blood_pressure=blood_pressure,
        glucose=glucose,
        spo2=spo2,
        consciousness=level,
        on_oxygen=on_oxygen,
        readings=accepted,
        ignored=tuple(ignored),
        rejected=rejected,
        overrides_applied=tuple(applied),
        reasons=tuple(reasons),
        rule_set_version=RULE_SET.version,
    )


def _reject(
    code: str,
    value: object,
    message: str,
    rejected: dict[str, str],
    groups: list[tuple[Priority | None, list[Reason]]],
) -> None:
    rejected[code] = message
    shown: str | int | float
    if isinstance(value, float) and value == value and abs(value) != float("inf"):
        shown = display_number(value)
    elif isinstance(value, int) and not isinstance(value, bool):
        shown = value
    else:
        shown = repr(value)
    groups.append((Priority.WHITE, [reason(f"triage.vitals.implausible.{code}", value=shown)]))
