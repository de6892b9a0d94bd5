"""NEWS2, exactly as charted by the Royal College of Physicians (2017), including SpO2 scale 2.

Decision support only. NEWS2 was built for hospital inpatients and is not validated for remote
care. Home devices rarely measure all seven parameters, so most scores here are partial: the
result lists what is missing, `partial` is True and the wording says "partial". A partial
total is a lower bound of the full one (a missing parameter can only add points), so a partial
band can under-state but never over-state the urgency.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict

from triage.memo import TABLE_SIZE, Memo, typed
from triage.models import Consciousness, Priority, Reason, parse_consciousness
from triage.reasons import NEWS2_NOT_VALIDATED, NEWS2_PARAMETERS, band_key, reason
from triage.rules import RULE_SET, News2Band, News2Rules
from triage.validate import check_reading, check_scale, display_number


class News2Result(BaseModel):
    """A NEWS2 total with its parts. Subscore and missing names are the measurement codes."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    total: int
    subscores: dict[str, int]
    missing: tuple[str, ...]
    band: News2Band
    partial: bool
    spo2_scale: Literal[1, 2]
    priority: Priority | None
    reasons: tuple[Reason, ...]
    rule_set_version: str


def spo2_points(spo2: float, *, scale: int, on_oxygen: bool, rules: News2Rules) -> int:
    """NEWS2 SpO2 points. Scale 2 scores high saturations only when the person is on oxygen."""
    if scale == 1:
        return rules.spo2_scale_1.points(spo2)
    ladder = rules.spo2_scale_2_oxygen if on_oxygen else rules.spo2_scale_2_air
    return ladder.points(spo2)


def news2_band(total: int, subscores: dict[str, int], rules: News2Rules) -> News2Band:
    """RCP chart 2: 0 none; 1-4 low; a single 3 with total < 5 low-medium; 5-6 medium; 7+ high."""
    if total >= rules.high_min:
        return "high"
    if total >= rules.medium_min:
        return "medium"
    if any(points >= rules.single_parameter_trigger for points in subscores.values()):
        return "low-medium"
    if total >= rules.low_min:
        return "low"
    return "none"


def news2_score(
    *,
    spo2: float | None = None,
    spo2_scale: int = 1,
    on_oxygen: bool | None = False,
    systolic: float | None = None,
    pulse: float | None = None,
    respiration_rate: float | None = None,
    temperature_c: float | None = None,
    consciousness: Consciousness | str | None = None,
) -> News2Result:
    """Score the parameters given; list the others as missing.

    `on_oxygen=None` means "not known" (air or oxygen is then missing; SpO2 on scale 2 is
    scored as on air, the lower of the two, so the partial total stays a lower bound).
    `consciousness` is ACVPU: "alert", "new_confusion", "voice", "pain", "unresponsive".
    Source: RULE_SET.news2 (RCP 2017, charts 1 and 2).
    """
    key = tuple(
        typed(v)
        for v in (spo2, spo2_scale, on_oxygen, systolic, pulse, respiration_rate,
                  temperature_c, consciousness)
    )  # fmt: skip
    found = _SCORES.get(key)
    if found is not None:
        return found
    return _SCORES.put(key, _news2_score(
        spo2=spo2, spo2_scale=spo2_scale, on_oxygen=on_oxygen, systolic=systolic, pulse=pulse,
        respiration_rate=respiration_rate, temperature_c=temperature_c,
        consciousness=consciousness,
    ))  # fmt: skip


# Scores by their inputs: a home's readings repeat (see triage.memo).
_SCORES: Memo[News2Result] = Memo(TABLE_SIZE)


def _news2_score(
    *,
    spo2: float | None,
    spo2_scale: int,
    on_oxygen: bool | None,
    systolic: float | None,
    pulse: float | None,
    respiration_rate: float | None,
    temperature_c: float | None,
    consciousness: Consciousness | str | None,
) -> News2Result:
    rules = RULE_SET.news2
    scale = check_scale(spo2_scale)
    level = None if consciousness is None else parse_consciousness(consciousness)
    given: dict[str, float] = {}
    for code, value in (
        ("respiration_rate", respiration_rate),
        ("spo2", spo2),
        ("systolic", systolic),
        ("pulse", pulse),
        ("temperature", temperature_c),
    ):
        if value is not None:
            given[code] = check_reading(code, value)

    subscores: dict[str, int] = {}
    if "respiration_rate" in given:
        subscores["respiration_rate"] = rules.respiration_rate.points(given["respiration_rate"])
    if "spo2" in given:
        subscores["spo2"] = spo2_points(
            given["spo2"], scale=scale, on_oxygen=bool(on_oxygen), rules=rules
        )
    if on_oxygen is not None:
        subscores["air_or_oxygen"] = rules.oxygen_points if on_oxygen else rules.air_points
    if "systolic" in given:
        subscores["systolic"] = rules.systolic.points(given["systolic"])
    if "pulse" in given:
        subscores["pulse"] = rules.pulse.points(given["pulse"])
    if level is not None:
        alert = level is Consciousness.ALERT
        subscores["consciousness"] = rules.alert_points if alert else rules.not_alert_points
    if "temperature" in given:
        subscores["temperature"] = rules.temperature.points(given["temperature"])

    # Keep the chart's order in both dicts so every display lists parameters the same way.
    subscores = {name: subscores[name] for name in NEWS2_PARAMETERS if name in subscores}
    missing = tuple(name for name in NEWS2_PARAMETERS if name not in subscores)
    total = sum(subscores.values())
    band = news2_band(total, subscores, rules)
    partial = bool(missing)

    reasons: list[Reason] = []
    if partial:
        reasons.append(
            reason(
                f"triage.news2.partial.{band_key(band)}",
                total=total,
                present_count=len(subscores),
                parameter_count=len(NEWS2_PARAMETERS),
                missing_count=len(missing),
            )
        )
    else:
        reasons.append(reason(f"triage.news2.full.{band_key(band)}", total=total))
    for name, points in subscores.items():
        if points >= rules.single_parameter_trigger:
            if name == "consciousness":
                reasons.append(reason("triage.news2.single_parameter.consciousness"))
            else:
                reasons.append(
                    reason(
                        f"triage.news2.single_parameter.{name}", value=display_number(given[name])
                    )
                )
    reasons.extend(reason(f"triage.news2.missing.{name}") for name in missing)
    if scale == 2:
        reasons.append(reason("triage.news2.scale_2"))
    reasons.append(reason(NEWS2_NOT_VALIDATED))

    return News2Result(
        total=total,
        subscores=subscores,
        missing=missing,
        band=band,
        partial=partial,
        spo2_scale=1 if scale == 1 else 2,
        priority=rules.band_priority[band],
        reasons=tuple(reasons),
        rule_set_version=RULE_SET.version,
    )
