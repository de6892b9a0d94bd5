"""Battery level, Device Information and iTag buttons."""

import contextlib

import pytest
from hypothesis import given
from hypothesis import strategies as st

from device_agent.gatt import ParseError, battery, buttons, device_info
from device_agent.gatt.device_info import PnpId, VendorIdSource
from tests.support.gatt import assert_every_truncation_fails, h


@pytest.mark.parametrize(("data", "level"), [(b"\x00", 0), (b"\x5a", 90), (b"\x64", 100)])
def test_battery_level(data: bytes, level: int) -> None:
    assert battery.parse_level(data) == level
    assert battery.encode_level(level) == data


def test_battery_level_above_100_is_an_error() -> None:
    with pytest.raises(ParseError, match="101") as caught:
        battery.parse_level(b"\x65")
    assert caught.value.field == "level"
    with pytest.raises(ParseError, match="truncated"):
        battery.parse_level(b"")
    with pytest.raises(ValueError):
        battery.encode_level(101)


def test_device_information_strings() -> None:
    assert device_info.decode_string(b"OMRON HEALTHCARE\x00\x00\x00") == "OMRON HEALTHCARE"
    assert device_info.decode_string("เครื่องวัด".encode()) == "เครื่องวัด"
    assert device_info.decode_string(b"") == ""
    assert device_info.decode_string(b"A\x00B\x00") == "A\x00B"  # only trailing NULs go


def test_invalid_utf8_names_offset() -> None:
    with pytest.raises(ParseError) as caught:
        device_info.decode_string(b"BM\xff1000", field="model")
    assert caught.value.field == "model"
    assert caught.value.offset == 2


def test_pnp_id() -> None:
    data = h("01 0E02 B80B 0001")
    assert device_info.parse_pnp_id(data) == PnpId(
        VendorIdSource.BLUETOOTH_SIG, 0x020E, 0x0BB8, 0x0100
    )
    assert device_info.encode_pnp_id(device_info.parse_pnp_id(data)) == data
    assert_every_truncation_fails(device_info.parse_pnp_id, data)
    usb = device_info.parse_pnp_id(h("02 6B1D 0100 0300"))
    assert usb.vendor_id_source is VendorIdSource.USB_IMPLEMENTERS_FORUM
    with pytest.raises(ParseError, match="vendor id source 3"):
        device_info.parse_pnp_id(h("03 0E02 B80B 0001"))


def test_system_id() -> None:
    data = h("0102030405 A1B2C3")
    system_id = device_info.parse_system_id(data)
    assert system_id.manufacturer_identifier == 0x0504030201
    assert system_id.organizationally_unique_identifier == 0xC3B2A1
    assert_every_truncation_fails(device_info.parse_system_id, data)


def test_itag_press() -> None:
    assert buttons.parse_itag(b"\x01") == buttons.ItagPress()
    for bad in (b"", b"\x00", b"\x02", b"\x01\x01"):
        with pytest.raises(ParseError):
            buttons.parse_itag(bad)
    assert buttons.alert_level(buttons.AlertLevel.HIGH_ALERT) == b"\x02"


def test_non_bytes_input_is_a_parse_error() -> None:
    with pytest.raises(ParseError, match="expected bytes, got str"):
        battery.parse_level("5a")  # type: ignore[arg-type]
    assert battery.parse_level(bytearray(b"\x10")) == 16
    assert battery.parse_level(memoryview(b"\x10")) == 16


@given(st.binary(max_size=64))
def test_fuzz(data: bytes) -> None:
    for parse in (
        battery.parse_level,
        device_info.decode_string,
        device_info.parse_pnp_id,
        device_info.parse_system_id,
        buttons.parse_itag,
    ):
        with contextlib.suppress(ParseError):
            parse(data)
