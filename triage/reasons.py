"""Every reason key the package can emit, with the parameters each one carries.

The texts live in the server's catalogue (`server/i18n/locales/{th,en}/triage.json`). Names
that a person must read (a missing parameter, a measurement) get a key of their own rather
than a code inside a parameter, so every word shown is translated.
"""

from __future__ import annotations

from types import MappingProxyType

from eldercare_protocol import DeviceStatus, MeasurementCode
from triage.memo import TABLE_SIZE, Memo, typed_items
from triage.models import ParamValue, Reason

NEWS2_PARAMETERS: tuple[str, ...] = (
    "respiration_rate",
    "spo2",
    "air_or_oxygen",
    "systolic",
    "pulse",
    "consciousness",
    "temperature",
)
NEWS2_BANDS: tuple[str, ...] = ("none", "low", "low-medium", "medium", "high")
# The wire contract's codes, less those no rule judges: the pulse amplitude index says how
# good the oximeter's signal was, not how the elder is. A code added to the contract is
# judged (and so needs a plausible range and texts) unless it is listed here.
UNJUDGED_MEASUREMENT_CODES: frozenset[str] = frozenset({MeasurementCode.PULSE_AMPLITUDE_INDEX})
MEASUREMENT_CODES: tuple[str, ...] = tuple(
    code.value for code in MeasurementCode if code not in UNJUDGED_MEASUREMENT_CODES
)
# Shared by every blood-pressure set (programme policy), then each set's own bands.
BP_SHARED_CATEGORIES: tuple[str, ...] = ("crisis", "crisis_with_symptoms", "hypotension")
BP_AHA_CATEGORIES: tuple[str, ...] = ("normal", "elevated", "stage_1", "stage_2")
BP_THAI_CATEGORIES: tuple[str, ...] = (
    "optimal",
    "normal",
    "high_normal",
    "grade_1",
    "grade_2",
    "grade_3",
)
BP_CATEGORIES: tuple[str, ...] = BP_AHA_CATEGORIES + BP_SHARED_CATEGORIES
BP_RULE_SETS: tuple[str, ...] = ("thai_2019", "aha_acc_2017")
GLUCOSE_CATEGORIES: tuple[str, ...] = (
    "hypo_level_3",
    "hypo_level_2",
    "hypo_level_1",
    "below_target",
    "in_range",
    "above_target",
    "high_urgent",
    "high_emergency",
)
SPO2_CATEGORIES: tuple[str, ...] = (
    "normal",
    "low",
    "very_low",
    "critical",
    "high_on_oxygen",
    "very_high_on_oxygen",
)
# The wire contract's statuses, and "unknown" for a status event that carried none.
DEVICE_STATUSES: tuple[str, ...] = (*(status.value for status in DeviceStatus), "unknown")

# What a personal target did: the reading is within it (nothing to follow up), outside it
# (follow up), or the reading is urgent whatever the target says.
TARGET_OUTCOMES: tuple[str, ...] = ("within", "outside", "urgent")

DISCLAIMER = "triage.decision_support"
NEWS2_NOT_VALIDATED = "triage.news2.not_validated_remote"


def band_key(band: str) -> str:
    return band.replace("-", "_")


def _build() -> dict[str, frozenset[str]]:
    keys: dict[str, frozenset[str]] = {
        DISCLAIMER: frozenset(),
        NEWS2_NOT_VALIDATED: frozenset(),
        "triage.news2.scale_2": frozenset(),
        "triage.news2.single_parameter.consciousness": frozenset(),
        "triage.bp.remeasure": frozenset({"minutes"}),
        "triage.bp.symptoms_call_1669": frozenset(),
        "triage.bp.incomplete": frozenset(),
        "triage.glucose.hypo_treat": frozenset(),
        "triage.glucose.converted": frozenset({"value", "value_mg_dl"}),
        "triage.spo2.on_oxygen": frozenset(),
        "triage.consciousness.critical": frozenset(),
        "triage.override.spo2_scale": frozenset({"scale"}),
        "triage.override.glucose_target": frozenset({"low", "high"}),
        "triage.event.panic": frozenset(),
        "triage.event.fall": frozenset(),
        "triage.event.test": frozenset(),
        "triage.event.vitals": frozenset(),
        "triage.event.vitals_normal": frozenset(),
        "triage.event.heartbeat": frozenset(),
        "triage.event.missed_checkin": frozenset(),
        "triage.event.low_battery": frozenset(),
        "triage.event.battery_low": frozenset({"level"}),
        "triage.event.battery_ok": frozenset({"level"}),
        "triage.profile.alone_without_carer": frozenset(),
        "triage.profile.alone_with_carer": frozenset(),
        "triage.profile.bed_bound": frozenset({"adl_score"}),
        "triage.profile.home_bound": frozenset({"adl_score"}),
        "triage.profile.fall_risk": frozenset(),
        "triage.profile.chronic_conditions": frozenset({"count"}),
        "triage.profile.age": frozenset({"age"}),
    }
    for band in NEWS2_BANDS:
        keys[f"triage.news2.full.{band_key(band)}"] = frozenset({"total"})
        keys[f"triage.news2.partial.{band_key(band)}"] = frozenset(
            {"total", "present_count", "parameter_count", "missing_count"}
        )
    for parameter in NEWS2_PARAMETERS:
        keys[f"triage.news2.missing.{parameter}"] = frozenset()
    for parameter in ("respiration_rate", "spo2", "systolic", "pulse", "temperature"):
        keys[f"triage.news2.single_parameter.{parameter}"] = frozenset({"value"})
    for code in MEASUREMENT_CODES:
        if code == "mean_arterial_pressure":
            continue  # no rule reads it, so it is ignored rather than checked
        keys[f"triage.vitals.implausible.{code}"] = frozenset({"value"})
    for category in BP_CATEGORIES:
        keys[f"triage.bp.{category}"] = frozenset({"systolic", "diastolic"})
    for category in BP_THAI_CATEGORIES:
        keys[f"triage.bp.thai.{category}"] = frozenset({"systolic", "diastolic"})
    keys["triage.bp.thai.isolated_systolic"] = frozenset({"systolic", "diastolic", "grade"})
    for name in BP_RULE_SETS:
        keys[f"triage.bp.rule_set.{name}"] = frozenset()
    for category in GLUCOSE_CATEGORIES:
        keys[f"triage.glucose.{category}"] = frozenset({"value_mg_dl"})
    for category in SPO2_CATEGORIES:
        keys[f"triage.spo2.{category}"] = frozenset({"spo2", "scale"})
    for outcome in TARGET_OUTCOMES:
        keys[f"triage.override.spo2_target.{outcome}"] = frozenset({"low", "high"})
        keys[f"triage.override.bp_target.{outcome}"] = frozenset({"systolic_max", "diastolic_max"})
    for status in DEVICE_STATUSES:
        keys[f"triage.event.device_status.{status}"] = frozenset()
    return keys


REASON_PARAMS: MappingProxyType[str, frozenset[str]] = MappingProxyType(_build())
REASON_KEYS: frozenset[str] = frozenset(REASON_PARAMS)


_REASONS: Memo[Reason] = Memo(TABLE_SIZE)


def reason(key: str, **params: ParamValue) -> Reason:
    """A reason whose key is registered and whose parameters are exactly the declared ones.

    Reasons are frozen and repeat endlessly ("spo2 missing"), so each is built once."""
    memo_key = (key, typed_items(params))
    found = _REASONS.get(memo_key)
    if found is not None:
        return found
    return _REASONS.put(memo_key, _reason(key, params))


def _reason(key: str, params: dict[str, ParamValue]) -> Reason:
    declared = REASON_PARAMS.get(key)
    if declared is None:
        raise KeyError(f"unregistered triage reason key: {key!r}")
    if set(params) != declared:
        raise ValueError(f"{key}: parameters {sorted(params)} != declared {sorted(declared)}")
    return Reason(key=key, params=params)
