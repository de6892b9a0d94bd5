"""Small pure parts: driver choice, duplicate memory, the persisted glucose sequence."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError

from device_agent.ble.adverts import Advert, uuid16
from device_agent.ble.drivers.base import SeenSet
from device_agent.ble.registry import NoDriver, choose, driver_for
from device_agent.ble.state import BleState
from device_agent.ble.types import BleDeviceSpec, DeviceKind
from device_agent.gatt.vendor import berrymed


def test_choose_by_service_uuid_name_and_nothing() -> None:
    assert choose(Advert("A", service_uuids=(uuid16(0x1808),))).name == "glucose"  # type: ignore[union-attr]
    vendor = Advert("B", name="BerryMed", service_uuids=(berrymed.SERVICE_UUID,))
    assert choose(vendor).name == "berrymed_oximeter"  # type: ignore[union-attr]
    assert choose(Advert("C", name="iTAG")).name == "itag_button"  # type: ignore[union-attr]
    assert choose(Advert("D", name="TV")) is None


def test_driver_for_spec_override_kind_and_unknown() -> None:
    spec = BleDeviceSpec(name="ox", kind=DeviceKind.OXIMETER, address="C1:00:00:00:00:01")
    assert driver_for(spec).name == "plx_oximeter"
    vendor = Advert("C1:00:00:00:00:01", service_uuids=(berrymed.SERVICE_UUID,))
    assert driver_for(spec, vendor).name == "berrymed_oximeter"
    # An advert of another kind does not override the configured kind.
    assert driver_for(spec, Advert("x", service_uuids=(uuid16(0x1810),))).name == "plx_oximeter"
    with pytest.raises(NoDriver, match="unknown driver 'nope'"):
        driver_for(
            BleDeviceSpec(
                name="x", kind=DeviceKind.GLUCOSE, address="C1:00:00:00:00:02", driver="nope"
            )
        )
    # A wired button is not a BLE device: the shared definition refuses it outright.
    with pytest.raises(ValidationError):
        BleDeviceSpec(name="x", kind=DeviceKind.LOCAL_BUTTON, address="C1:00:00:00:00:02")


def test_seen_set_is_bounded() -> None:
    seen = SeenSet(size=2)
    assert seen.add("a") and seen.add("b") and not seen.add("a")
    assert seen.add("c") and seen.add("a")  # "a" aged out


def test_glucose_sequence_survives_reopening(tmp_path: Path) -> None:
    path = tmp_path / "state" / "ble.sqlite3"
    state = BleState(path)
    assert state.last_glucose_sequence("M") is None
    state.set_last_glucose_sequence("M", 7)
    state.set_last_glucose_sequence("M", 9)
    state.close()
    again = BleState(path)
    assert again.last_glucose_sequence("M") == 9
    assert again.last_glucose_sequence("other") is None
    again.close()
