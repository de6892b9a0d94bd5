"""Event priority: colours per kind, test presses, supervision, and vulnerable elders first."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from triage import (
    EVENT_KINDS,
    RULE_SET_VERSION,
    ElderProfile,
    Priority,
    adl_group,
    assess_vitals,
    most_urgent,
    prioritise_event,
    priority_rank,
)


def test_priority_order_helpers() -> None:
    ordered = sorted(Priority, key=priority_rank)
    assert ordered == [Priority.RED, Priority.YELLOW, Priority.GREEN, Priority.WHITE]
    assert Priority.RED.more_urgent_than(Priority.YELLOW)
    assert not Priority.WHITE.more_urgent_than(Priority.GREEN)
    assert Priority.WHITE.more_urgent_than(None)
    assert priority_rank(None) > priority_rank(Priority.WHITE)
    assert most_urgent([None, Priority.GREEN, Priority.YELLOW, Priority.WHITE]) is Priority.YELLOW
    assert most_urgent([None, None]) is None
    assert most_urgent([]) is None


@pytest.mark.parametrize(
    ("score", "group"),
    [
        (0, "bed_bound"),
        (4, "bed_bound"),
        (5, "home_bound"),
        (11, "home_bound"),
        (12, "social_bound"),
        (20, "social_bound"),
    ],
)
def test_adl_groups(score: int, group: str) -> None:
    assert adl_group(score) == group
    assert ElderProfile(adl_score=score).adl_group == group


@pytest.mark.parametrize("score", [-1, 21])
def test_adl_out_of_range(score: int) -> None:
    with pytest.raises(ValueError, match="0-20"):
        adl_group(score)
    with pytest.raises(ValueError):
        ElderProfile(adl_score=score)


def test_adl_rejects_non_integers() -> None:
    with pytest.raises(TypeError):
        adl_group(True)
    with pytest.raises(TypeError):
        adl_group(4.5)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("kind", "kwargs", "priority", "key"),
    [
        ("panic", {}, Priority.RED, "triage.event.panic"),
        ("fall", {}, Priority.RED, "triage.event.fall"),
        ("heartbeat", {}, None, "triage.event.heartbeat"),
        ("missed_checkin", {}, Priority.WHITE, "triage.event.missed_checkin"),
        ("low_battery", {}, Priority.WHITE, "triage.event.low_battery"),
        ("battery", {"battery_level": 20}, Priority.WHITE, "triage.event.battery_low"),
        ("battery", {"battery_level": 0}, Priority.WHITE, "triage.event.battery_low"),
        ("battery", {"battery_level": 21}, None, "triage.event.battery_ok"),
    ],
)
def test_kinds(kind: str, kwargs: dict[str, Any], priority: Priority | None, key: str) -> None:
    result = prioritise_event(kind=kind, **kwargs)
    assert result.priority == priority
    assert result.reasons[0].key == key
    assert result.kind == kind
    assert not result.test
    assert result.rule_set_version == RULE_SET_VERSION


@pytest.mark.parametrize(
    ("status", "priority"),
    [
        ("connected", None),
        ("unreachable", Priority.WHITE),
        ("pairing_required", Priority.WHITE),
        ("adapter_missing", Priority.WHITE),
        ("error", Priority.WHITE),
        (None, Priority.WHITE),
    ],
)
def test_device_status(status: str | None, priority: Priority | None) -> None:
    result = prioritise_event(kind="device_status", device_status=status)
    assert result.priority == priority
    assert result.reasons[0].key == f"triage.event.device_status.{status or 'unknown'}"


def test_a_test_press_is_red_flagged_and_sorts_after_real_alerts() -> None:
    real = prioritise_event(kind="panic")
    test = prioritise_event(kind="panic", test=True)
    assert test.priority is Priority.RED
    assert test.test
    assert test.reasons[0].key == "triage.event.test"
    assert test.risk < real.risk


def test_vitals_take_their_priority_from_the_assessment() -> None:
    vitals = assess_vitals(readings={"spo2": 89, "pulse": 120})
    result = prioritise_event(kind="vitals", vitals=vitals)
    assert result.priority is Priority.RED
    keys = [r.key for r in result.reasons]
    assert keys[0] == "triage.event.vitals"
    assert "triage.spo2.critical" in keys
    assert result.risk == pytest.approx(vitals.news2.total * 0.5)
    calm = prioritise_event(kind="vitals", vitals=assess_vitals(readings={"pulse": 70}))
    assert calm.priority is None
    assert calm.reasons[0].key == "triage.event.vitals_normal"


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"kind": "vitals"}, "needs the VitalsAssessment"),
        ({"kind": "battery"}, "needs battery_level"),
        ({"kind": "battery", "battery_level": 101}, "needs battery_level"),
        ({"kind": "battery", "battery_level": True}, "needs battery_level"),
        ({"kind": "device_status", "device_status": "melted"}, "unknown device status"),
        ({"kind": "smoke"}, "unknown event kind 'smoke'"),
    ],
)
def test_bad_events_are_clear_errors(kwargs: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        prioritise_event(**kwargs)


def test_profile_reasons_explain_the_risk() -> None:
    profile = ElderProfile(
        lives_alone=True,
        adl_score=3,
        fall_risk=True,
        chronic_conditions=("COPD", "diabetes"),
        age=84,
    )
    result = prioritise_event(kind="fall", profile=profile)
    keys = [r.key for r in result.reasons]
    assert keys == [
        "triage.event.fall",
        "triage.profile.alone_without_carer",
        "triage.profile.bed_bound",
        "triage.profile.fall_risk",
        "triage.profile.chronic_conditions",
        "triage.profile.age",
    ]
    # 3 alone + 3 bed-bound + 1 fall risk + 1 two conditions + 1 age + 1 fall with fall risk
    assert result.risk == pytest.approx(10.0)
    # Nothing raised: no profile reasons to explain.
    assert [r.key for r in prioritise_event(kind="heartbeat", profile=profile).reasons] == [
        "triage.event.heartbeat"
    ]


def test_chronic_conditions_are_capped_and_deduplicated() -> None:
    many = ElderProfile(chronic_conditions=tuple(f"c{i}" for i in range(10)))
    twice = ElderProfile(chronic_conditions=("COPD", "COPD"))
    assert prioritise_event(kind="panic", profile=many).risk == pytest.approx(2.0)
    assert prioritise_event(kind="panic", profile=twice).risk == pytest.approx(0.5)


def test_unknown_carer_is_treated_as_no_carer() -> None:
    assert ElderProfile(lives_alone=True).vulnerable
    assert not ElderProfile(lives_alone=True, has_carer=True).vulnerable
    assert ElderProfile(adl_score=4, has_carer=True).vulnerable


profiles = st.builds(
    ElderProfile,
    lives_alone=st.booleans(),
    has_carer=st.booleans(),
    adl_score=st.none() | st.integers(min_value=0, max_value=20),
    fall_risk=st.booleans(),
    chronic_conditions=st.lists(st.sampled_from(["COPD", "DM", "HT", "CKD"]), max_size=4).map(
        tuple
    ),
    age=st.none() | st.integers(min_value=60, max_value=105),
)
events = st.sampled_from(
    [
        {"kind": "panic"},
        {"kind": "panic", "test": True},
        {"kind": "fall"},
        {"kind": "heartbeat"},
        {"kind": "missed_checkin"},
        {"kind": "low_battery"},
        {"kind": "battery", "battery_level": 10},
        {"kind": "device_status", "device_status": "unreachable"},
        {"kind": "vitals", "vitals": assess_vitals(readings={"spo2": 92, "pulse": 112})},
    ]
)


def _made_vulnerable(profile: ElderProfile, how: str) -> ElderProfile:
    if how == "alone_without_carer":
        return profile.model_copy(update={"lives_alone": True, "has_carer": False})
    return profile.model_copy(update={"adl_score": 2})


@given(profiles, events, st.sampled_from(["alone_without_carer", "bed_bound"]))
def test_a_vulnerable_elder_is_never_under_prioritised(
    profile: ElderProfile, event: dict[str, Any], how: str
) -> None:
    vulnerable = _made_vulnerable(profile, how)
    assert vulnerable.vulnerable
    before = prioritise_event(profile=profile, **event)
    after = prioritise_event(profile=vulnerable, **event)
    assert priority_rank(after.priority) <= priority_rank(before.priority)
    assert after.risk >= before.risk
    if not profile.vulnerable:
        assert after.risk > before.risk


@given(profiles, events)
def test_any_profile_ranks_at_least_as_high_as_no_profile(
    profile: ElderProfile, event: dict[str, Any]
) -> None:
    with_profile = prioritise_event(profile=profile, **event)
    without = prioritise_event(**event)
    assert with_profile.priority == without.priority
    assert with_profile.risk >= without.risk


def test_every_kind_is_handled() -> None:
    vitals = assess_vitals(readings={"pulse": 70})
    # The colour and first reason each kind gets with an ordinary reading, a half-full
    # battery and no status: a kind added to the contract fails here until it has a rule.
    expected: dict[str, tuple[Priority | None, str]] = {
        "panic": (Priority.RED, "triage.event.panic"),
        "fall": (Priority.RED, "triage.event.fall"),
        "vitals": (None, "triage.event.vitals_normal"),
        "heartbeat": (None, "triage.event.heartbeat"),
        "battery": (None, "triage.event.battery_ok"),
        "device_status": (Priority.WHITE, "triage.event.device_status.unknown"),
        "missed_checkin": (Priority.WHITE, "triage.event.missed_checkin"),
        "low_battery": (Priority.WHITE, "triage.event.low_battery"),
    }
    assert set(EVENT_KINDS) == set(expected)
    for kind in EVENT_KINDS:
        extra: dict[str, Any] = {"vitals": vitals, "battery_level": 50}
        result = prioritise_event(kind=kind, **extra)
        assert result.kind == kind
        assert (result.priority, result.reasons[0].key) == expected[kind], kind
