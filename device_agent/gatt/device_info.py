"""Device Information service 0x180A: the identity strings, System ID and PnP ID.

Strings are UTF-8; trailing NUL bytes (fixed-size buffers on cheap devices) are stripped.
The manufacturer string is what vendor quirks are chosen by.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum

from device_agent.gatt._reader import Reader

SERVICE_UUID = 0x180A
SYSTEM_ID_UUID = 0x2A23
MODEL_NUMBER_UUID = 0x2A24
SERIAL_NUMBER_UUID = 0x2A25
FIRMWARE_REVISION_UUID = 0x2A26
HARDWARE_REVISION_UUID = 0x2A27
SOFTWARE_REVISION_UUID = 0x2A28
MANUFACTURER_NAME_UUID = 0x2A29
PNP_ID_UUID = 0x2A50

# Characteristic → field name of the strings read into a device record.
STRING_CHARACTERISTICS: dict[int, str] = {
    MANUFACTURER_NAME_UUID: "manufacturer",
    MODEL_NUMBER_UUID: "model",
    SERIAL_NUMBER_UUID: "serial_number",
    HARDWARE_REVISION_UUID: "hardware_revision",
    FIRMWARE_REVISION_UUID: "firmware_revision",
    SOFTWARE_REVISION_UUID: "software_revision",
}


def decode_string(data: bytes | bytearray | memoryview, *, field: str = "string") -> str:
    """A Device Information string: UTF-8 with trailing NULs removed."""
    reader = Reader(data, what="device information")
    raw = reader.rest().rstrip(b"\x00")
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise reader.error(
            f"not valid UTF-8 ({exc.reason})", field=field, offset=exc.start
        ) from None


class VendorIdSource(IntEnum):
    BLUETOOTH_SIG = 1
    USB_IMPLEMENTERS_FORUM = 2


@dataclass(frozen=True, slots=True)
class PnpId:
    vendor_id_source: VendorIdSource
    vendor_id: int
    product_id: int
    product_version: int


def parse_pnp_id(data: bytes | bytearray | memoryview) -> PnpId:
    """PnP ID (0x2A50): vendor id source u8, vendor id u16, product id u16, version u16."""
    reader = Reader(data, what="PnP ID")
    source = reader.u8("vendor_id_source")
    if source not in VendorIdSource._value2member_map_:
        raise reader.error(
            f"vendor id source {source} is not 1 (Bluetooth SIG) or 2 (USB-IF)",
            field="vendor_id_source",
            offset=0,
        )
    return PnpId(
        vendor_id_source=VendorIdSource(source),
        vendor_id=reader.u16("vendor_id"),
        product_id=reader.u16("product_id"),
        product_version=reader.u16("product_version"),
    )


def encode_pnp_id(pnp: PnpId) -> bytes:
    return bytes([pnp.vendor_id_source]) + b"".join(
        value.to_bytes(2, "little")
        for value in (pnp.vendor_id, pnp.product_id, pnp.product_version)
    )


@dataclass(frozen=True, slots=True)
class SystemId:
    manufacturer_identifier: int  # 40 bits
    organizationally_unique_identifier: int  # 24 bits (IEEE OUI)


def parse_system_id(data: bytes | bytearray | memoryview) -> SystemId:
    """System ID (0x2A23): 40-bit manufacturer identifier, then the 24-bit OUI."""
    reader = Reader(data, what="system ID")
    manufacturer = int.from_bytes(reader.take(5, "manufacturer_identifier"), "little")
    oui = reader.u24("organizationally_unique_identifier")
    return SystemId(manufacturer, oui)
