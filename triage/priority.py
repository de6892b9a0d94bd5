"""From an event and the elder's profile to a console colour, reasons and an ordering risk.

Source: RULE_SET.events and RULE_SET.risk (programme policy; see their `source`). The colour
comes from the event alone, so a vulnerable elder (alone with no carer, or bed-bound) can never
get a lower colour than anyone else for the same event; the profile adds risk, which puts the
vulnerable first among alerts of the same colour and time left.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict

from eldercare_protocol import EventKind
from triage.models import Priority, Reason
from triage.profile import ElderProfile
from triage.reasons import DEVICE_STATUSES, reason
from triage.rules import RULE_SET
from triage.vitals import VitalsAssessment

# Kinds the server makes itself when a hub falls silent or a battery runs down.
SUPERVISION_KINDS: tuple[str, ...] = ("missed_checkin", "low_battery")
# Every kind a hub sends (the wire contract's) and the server's own.
EVENT_KINDS: tuple[str, ...] = (*(kind.value for kind in EventKind), *SUPERVISION_KINDS)


class PriorityResult(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    kind: str
    priority: Priority | None
    reasons: tuple[Reason, ...]
    risk: float
    test: bool
    rule_set_version: str


def profile_risk(profile: ElderProfile | None) -> tuple[float, list[Reason]]:
    """Risk from who the elder is, with the reasons that make it up."""
    if profile is None:
        return 0.0, []
    rules = RULE_SET.risk
    risk = 0.0
    reasons: list[Reason] = []
    if profile.alone_without_carer:
        risk += rules.alone_without_carer
        reasons.append(reason("triage.profile.alone_without_carer"))
    elif profile.lives_alone:
        risk += rules.alone_with_carer
        reasons.append(reason("triage.profile.alone_with_carer"))
    group = profile.adl_group
    if profile.adl_score is not None and group == "bed_bound":
        risk += rules.bed_bound
        reasons.append(reason("triage.profile.bed_bound", adl_score=profile.adl_score))
    elif profile.adl_score is not None and group == "home_bound":
        risk += rules.home_bound
        reasons.append(reason("triage.profile.home_bound", adl_score=profile.adl_score))
    if profile.fall_risk:
        risk += rules.fall_risk
        reasons.append(reason("triage.profile.fall_risk"))
    conditions = len(set(profile.chronic_conditions))
    if conditions:
        risk += min(conditions * rules.per_chronic_condition, rules.chronic_conditions_cap)
        reasons.append(reason("triage.profile.chronic_conditions", count=conditions))
    if profile.age is not None and profile.age >= rules.age_threshold:
        risk += rules.age_80_plus
        reasons.append(reason("triage.profile.age", age=profile.age))
    return risk, reasons


def prioritise_event(
    *,
    kind: str,
    profile: ElderProfile | None = None,
    vitals: VitalsAssessment | None = None,
    test: bool = False,
    battery_level: int | None = None,
    device_status: str | None = None,
) -> PriorityResult:
    """Colour, reasons and risk for one event.

    Kinds are the wire protocol's (panic, fall, vitals, heartbeat, battery, device_status)
    plus the server's supervision kinds (missed_checkin, low_battery). `vitals` is required
    for kind "vitals", `battery_level` (0-100 %) for kind "battery"; `device_status` is the
    protocol's status for kind "device_status" (unknown when not given). A test press stays
    RED, says it is a test, and sorts after real alerts.
    """
    events = RULE_SET.events
    risk_rules = RULE_SET.risk
    if kind not in EVENT_KINDS:
        raise ValueError(f"unknown event kind {kind!r}; expected one of {', '.join(EVENT_KINDS)}")

    risk, profile_reasons = profile_risk(profile)
    event_reasons: list[Reason] = []
    priority: Priority | None
    if kind == "vitals":
        if vitals is None:
            raise ValueError("kind 'vitals' needs the VitalsAssessment of the readings")
        priority = vitals.priority
        event_reasons.append(
            reason("triage.event.vitals" if priority else "triage.event.vitals_normal")
        )
        event_reasons.extend(vitals.reasons)
        risk += vitals.news2.total * risk_rules.per_news2_point
    elif kind == "battery":
        if (
            battery_level is None
            or isinstance(battery_level, bool)
            or not isinstance(battery_level, int)
            or not 0 <= battery_level <= 100
        ):
            raise ValueError(f"kind 'battery' needs battery_level 0-100, got {battery_level!r}")
        if battery_level <= events.low_battery_percent:
            priority = events.kind_priority["battery"]
            event_reasons.append(reason("triage.event.battery_low", level=battery_level))
        else:
            priority = None
            event_reasons.append(reason("triage.event.battery_ok", level=battery_level))
    elif kind == "device_status":
        status = "unknown" if device_status is None else device_status
        if status not in DEVICE_STATUSES:
            raise ValueError(
                f"unknown device status {device_status!r}; "
                f"expected one of {', '.join(DEVICE_STATUSES[:-1])}"
            )
        priority = None if status == "connected" else events.kind_priority["device_status"]
        event_reasons.append(reason(f"triage.event.device_status.{status}"))
    else:
        priority = events.kind_priority[kind]
        event_reasons.append(reason(f"triage.event.{kind}"))
        if kind == "fall" and profile is not None and profile.fall_risk:
            risk += risk_rules.fall_risk_on_fall

    reasons: list[Reason] = []
    if test:
        reasons.append(reason("triage.event.test"))
        risk += risk_rules.test_event
    reasons.extend(event_reasons)
    if priority is not None:
        reasons.extend(profile_reasons)
    return PriorityResult(
        kind=kind,
        priority=priority,
        reasons=tuple(reasons),
        risk=risk,
        test=test,
        rule_set_version=RULE_SET.version,
    )
