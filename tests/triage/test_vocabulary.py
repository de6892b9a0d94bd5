"""triage speaks the wire contract's words: every kind, status and code a hub can send is one
triage knows what to do with, and nothing triage names is missing from the contract."""

from __future__ import annotations

from eldercare_protocol import DeviceStatus, EventKind, MeasurementCode
from triage import EVENT_KINDS, MEASUREMENT_CODES, RULE_SET
from triage.priority import SUPERVISION_KINDS
from triage.reasons import DEVICE_STATUSES, REASON_KEYS, UNJUDGED_MEASUREMENT_CODES


def test_every_contract_measurement_code_is_judged_or_named_as_not_judged() -> None:
    contract = {code.value for code in MeasurementCode}
    assert set(MEASUREMENT_CODES) | UNJUDGED_MEASUREMENT_CODES == contract
    assert not set(MEASUREMENT_CODES) & UNJUDGED_MEASUREMENT_CODES


def test_every_judged_code_has_a_plausible_range() -> None:
    assert set(RULE_SET.plausible.ranges) == set(MEASUREMENT_CODES)


def test_event_kinds_are_the_contracts_and_the_servers_own() -> None:
    assert set(EVENT_KINDS) == {kind.value for kind in EventKind} | set(SUPERVISION_KINDS)
    assert not {kind.value for kind in EventKind} & set(SUPERVISION_KINDS)
    # Vitals take their colour from the readings; every other kind has a rule.
    assert set(RULE_SET.events.kind_priority) == set(EVENT_KINDS) - {EventKind.VITALS.value}


def test_every_contract_device_status_has_a_reason() -> None:
    assert set(DEVICE_STATUSES) == {status.value for status in DeviceStatus} | {"unknown"}
    for status in DEVICE_STATUSES:
        assert f"triage.event.device_status.{status}" in REASON_KEYS
