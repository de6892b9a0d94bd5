"""BTHome v2 advertisements (service data under UUID 0xFCD2), e.g. Shelly BLU Button.

``parse`` takes the service data *after* the UUID, as BLE stacks hand it over (bleak's
``advertisement_data.service_data[uuid]``): a device information byte, then object id + value
pairs (https://bthome.io/format/). Device information: bit 0 encrypted, bit 1 the MAC follows
(6 bytes, least significant first), bit 2 trigger-based device, bits 5–7 the BTHome version
(must be 2).

Object lengths are implied by their id, so nothing after an id this module does not know can
be located. As the format asks, parsing stops there and keeps what it has read (objects come
in ascending id order, so packet id, battery and button events come before any newer sensor
object); ``Packet.unknown_object_id`` names the id it stopped at. Every id of the current
BTHome v2 object table is known.

Encrypted packets (https://bthome.io/encryption/): info byte | ciphertext | counter (4 bytes) |
MIC (4 bytes). AES-CCM with the device's 16-byte bind key, a 4-byte tag and the 13-byte nonce
MAC (6 bytes, in the order it is written, 54:48:E6:8F:80:A5 → 54 48 E6 8F 80 A5) + UUID
little-endian (D2 FC) + device info byte + counter bytes as sent. Refusing plaintext from a
device that has a bind key, and a counter that must grow (replay), are the receiver's rules
and need its memory: ``device_agent.ble.payloads.bthome_security`` applies them to the
``encrypted`` and ``counter`` this module returns.

Adverts repeat: de-duplicate by ``packet_id`` (and ``counter`` when encrypted).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESCCM

from device_agent.gatt._reader import Reader

SERVICE_UUID = 0xFCD2
SERVICE_UUID_STR = "0000fcd2-0000-1000-8000-00805f9b34fb"
_UUID_LE = b"\xd2\xfc"

INFO_ENCRYPTED = 0x01
INFO_MAC_INCLUDED = 0x02
INFO_TRIGGER_BASED = 0x04
VERSION = 2

_COUNTER_SIZE = 4
# One AD structure holds at most 254 bytes after its length byte: AD type, UUID16, data.
MAX_SERVICE_DATA = 251
_MIC_SIZE = 4

OBJECT_PACKET_ID = 0x00
OBJECT_BATTERY = 0x01
OBJECT_BUTTON = 0x3A


class ButtonEvent(IntEnum):
    NONE = 0x00
    PRESS = 0x01
    DOUBLE_PRESS = 0x02
    TRIPLE_PRESS = 0x03
    LONG_PRESS = 0x04
    LONG_DOUBLE_PRESS = 0x05
    LONG_TRIPLE_PRESS = 0x06
    HOLD_PRESS = 0x80

    @property
    def press_type(self) -> str | None:
        """The matching ``eldercare_protocol.PressType`` value; ``None`` for NONE."""
        return _PRESS_TYPES[self]


_PRESS_TYPES: dict[ButtonEvent, str | None] = {
    ButtonEvent.NONE: None,
    ButtonEvent.PRESS: "single",
    ButtonEvent.DOUBLE_PRESS: "double",
    ButtonEvent.TRIPLE_PRESS: "triple",
    ButtonEvent.LONG_PRESS: "long",
    ButtonEvent.LONG_DOUBLE_PRESS: "long_double",
    ButtonEvent.LONG_TRIPLE_PRESS: "long_triple",
    ButtonEvent.HOLD_PRESS: "hold",
}


@dataclass(frozen=True, slots=True)
class _Object:
    name: str
    # "u"/"s": an unsigned/signed little-endian number of ``size`` bytes, times ``factor``;
    # "bool": one byte, 0 or not; "text"/"raw": a length byte, then that many bytes;
    # "bytes": ``size`` bytes kept as they are (e.g. a dimmer's event and steps).
    kind: str
    size: int
    factor: float = 1
    unit: str | None = None


_BINARY_NAMES = (
    "battery_low", "battery_charging", "carbon_monoxide", "cold", "connectivity", "door",
    "garage_door", "gas", "heat", "light", "lock", "moisture", "motion", "moving", "occupancy",
    "plug", "presence", "problem", "running", "safety", "smoke", "sound", "tamper",
    "vibration", "window",
)  # fmt: skip

# The BTHome v2 object table (https://bthome.io/format/), sensors, binary sensors, events and
# device information alike.
OBJECTS: dict[int, _Object] = {
    0x00: _Object("packet_id", "u", 1),
    0x01: _Object("battery", "u", 1, 1, "%"),
    0x02: _Object("temperature", "s", 2, 0.01, "°C"),
    0x03: _Object("humidity", "u", 2, 0.01, "%"),
    0x04: _Object("pressure", "u", 3, 0.01, "hPa"),
    0x05: _Object("illuminance", "u", 3, 0.01, "lx"),
    0x06: _Object("mass", "u", 2, 0.01, "kg"),
    0x07: _Object("mass", "u", 2, 0.01, "lb"),
    0x08: _Object("dew_point", "s", 2, 0.01, "°C"),
    0x09: _Object("count", "u", 1),
    0x0A: _Object("energy", "u", 3, 0.001, "kWh"),
    0x0B: _Object("power", "u", 3, 0.01, "W"),
    0x0C: _Object("voltage", "u", 2, 0.001, "V"),
    0x0D: _Object("pm2_5", "u", 2, 1, "µg/m³"),
    0x0E: _Object("pm10", "u", 2, 1, "µg/m³"),
    0x0F: _Object("generic_boolean", "bool", 1),
    0x10: _Object("power_on", "bool", 1),
    0x11: _Object("opening", "bool", 1),
    0x12: _Object("co2", "u", 2, 1, "ppm"),
    0x13: _Object("tvoc", "u", 2, 1, "µg/m³"),
    0x14: _Object("moisture", "u", 2, 0.01, "%"),
    **{0x15 + i: _Object(name, "bool", 1) for i, name in enumerate(_BINARY_NAMES)},
    0x2E: _Object("humidity", "u", 1, 1, "%"),
    0x2F: _Object("moisture", "u", 1, 1, "%"),
    0x3A: _Object("button", "u", 1),
    0x3C: _Object("dimmer", "bytes", 2),
    0x3D: _Object("count", "u", 2),
    0x3E: _Object("count", "u", 4),
    0x3F: _Object("rotation", "s", 2, 0.1, "°"),
    0x40: _Object("distance", "u", 2, 1, "mm"),
    0x41: _Object("distance", "u", 2, 0.1, "m"),
    0x42: _Object("duration", "u", 3, 0.001, "s"),
    0x43: _Object("current", "u", 2, 0.001, "A"),
    0x44: _Object("speed", "u", 2, 0.01, "m/s"),
    0x45: _Object("temperature", "s", 2, 0.1, "°C"),
    0x46: _Object("uv_index", "u", 1, 0.1),
    0x47: _Object("volume", "u", 2, 0.1, "L"),
    0x48: _Object("volume", "u", 2, 1, "mL"),
    0x49: _Object("volume_flow_rate", "u", 2, 0.001, "m³/h"),
    0x4A: _Object("voltage", "u", 2, 0.1, "V"),
    0x4B: _Object("gas", "u", 3, 0.001, "m³"),
    0x4C: _Object("gas", "u", 4, 0.001, "m³"),
    0x4D: _Object("energy", "u", 4, 0.001, "kWh"),
    0x4E: _Object("volume", "u", 4, 0.001, "L"),
    0x4F: _Object("water", "u", 4, 0.001, "L"),
    0x50: _Object("timestamp", "u", 4, 1, "s"),
    0x51: _Object("acceleration", "u", 2, 0.001, "m/s²"),
    0x52: _Object("gyroscope", "u", 2, 0.001, "°/s"),
    0x53: _Object("text", "text", 0),
    0x54: _Object("raw", "raw", 0),
    0x55: _Object("volume_storage", "u", 4, 0.001, "L"),
    0x56: _Object("conductivity", "u", 2, 1, "µS/cm"),
    0x57: _Object("temperature", "s", 1, 1, "°C"),
    0x58: _Object("temperature", "s", 1, 0.35, "°C"),
    0x59: _Object("count", "s", 1),
    0x5A: _Object("count", "s", 2),
    0x5B: _Object("count", "s", 4),
    0x5C: _Object("power", "s", 4, 0.01, "W"),
    0x5D: _Object("current", "s", 2, 0.001, "A"),
    0x5E: _Object("direction", "u", 2, 0.01, "°"),
    0x5F: _Object("precipitation", "u", 2, 0.1, "mm"),
    0x60: _Object("channel", "u", 1),
    0x61: _Object("rotational_speed", "u", 2, 1, "rpm"),
    0x62: _Object("speed", "s", 4, 0.000001, "m/s"),
    0x63: _Object("acceleration", "s", 4, 0.000001, "m/s²"),
    0x64: _Object("light_level", "u", 1),
    0xF0: _Object("device_type_id", "u", 2),
    0xF1: _Object("firmware_version", "u", 4),
    0xF2: _Object("firmware_version", "u", 3),
}


@dataclass(frozen=True, slots=True)
class Reading:
    """One BTHome object other than packet id, battery and button events."""

    object_id: int
    name: str
    value: float | int | bool | str | bytes
    unit: str | None


@dataclass(frozen=True, slots=True)
class Packet:
    """A decoded BTHome v2 advertisement.

    ``button_events`` holds one entry per button object in order (a multi-button device sends
    one per button; ``NONE`` means that button was not pressed). ``payload`` is the object
    bytes after decryption, for logging. ``unknown_object_id`` is the first object id this
    module does not know, where reading stopped (``None`` when every object was read).
    """

    encrypted: bool
    trigger_based: bool
    mac: str | None
    counter: int | None
    packet_id: int | None
    battery: int | None
    button_events: tuple[ButtonEvent, ...]
    readings: tuple[Reading, ...]
    payload: bytes
    unknown_object_id: int | None = None

    @property
    def pressed(self) -> tuple[ButtonEvent, ...]:
        """The button events that are actual presses (``NONE`` left out)."""
        return tuple(event for event in self.button_events if event is not ButtonEvent.NONE)


def _mac_bytes(mac: str | bytes) -> bytes:
    raw = bytes.fromhex(mac.replace(":", "").replace("-", "")) if isinstance(mac, str) else mac
    if len(raw) != 6:
        raise ValueError(f"a MAC address has 6 bytes, got {len(raw)}")
    return bytes(raw)


def _key_bytes(bind_key: str | bytes) -> bytes:
    key = bytes.fromhex(bind_key) if isinstance(bind_key, str) else bytes(bind_key)
    if len(key) != 16:
        raise ValueError(f"a BTHome bind key has 16 bytes, got {len(key)}")
    return key


def _format_mac(raw: bytes) -> str:
    return ":".join(f"{byte:02X}" for byte in raw)


def _nonce(mac: bytes, info: int, counter: bytes) -> bytes:
    return mac + _UUID_LE + bytes([info]) + counter


@dataclass(frozen=True, slots=True)
class _Header:
    info: int
    advertised_mac: bytes | None

    @property
    def encrypted(self) -> bool:
        return bool(self.info & INFO_ENCRYPTED)


@dataclass(frozen=True, slots=True)
class Objects:
    """The objects of one advert, read up to the end or to the first unknown id."""

    packet_id: int | None
    battery: int | None
    button_events: tuple[ButtonEvent, ...]
    readings: tuple[Reading, ...]
    unknown_object_id: int | None


def parse(
    service_data: bytes | bytearray | memoryview,
    *,
    bind_key: str | bytes | None = None,
    mac: str | bytes | None = None,
) -> Packet:
    """Parse BTHome v2 service data. Raises ``ParseError`` on malformed or undecryptable data.

    ``bind_key`` (16 bytes or 32 hex digits) and ``mac`` ("AA:BB:CC:DD:EE:FF" or 6 bytes) are
    needed for encrypted packets; a malformed key or MAC argument raises ``ValueError``.
    """
    reader = Reader(service_data, what="BTHome")
    header = _read_header(reader)
    counter: int | None = None
    if header.encrypted:
        payload, counter = decrypt(reader, header, bind_key=bind_key, mac=mac)
        # Offsets in errors below count from the start of the decrypted objects.
        objects = read_objects(Reader(payload, what="BTHome (decrypted)"))
    else:
        payload = reader.data[reader.offset :]
        objects = read_objects(reader)
    return Packet(
        encrypted=header.encrypted,
        trigger_based=bool(header.info & INFO_TRIGGER_BASED),
        mac=_format_mac(header.advertised_mac) if header.advertised_mac is not None else None,
        counter=counter,
        packet_id=objects.packet_id,
        battery=objects.battery,
        button_events=objects.button_events,
        readings=objects.readings,
        payload=payload,
        unknown_object_id=objects.unknown_object_id,
    )


def _read_header(reader: Reader) -> _Header:
    """The device information byte (version 2 only) and the MAC address if it follows."""
    if len(reader.data) > MAX_SERVICE_DATA:
        raise reader.error(
            f"{len(reader.data)} bytes is more than one advertisement can carry "
            f"({MAX_SERVICE_DATA})",
            field="service_data",
            offset=MAX_SERVICE_DATA,
        )
    info = reader.u8("device_info")
    version = info >> 5
    if version != VERSION:
        raise reader.error(
            f"BTHome version {version} is not supported (expected 2)",
            field="device_info",
            offset=0,
        )
    advertised_mac = reader.take(6, "mac")[::-1] if info & INFO_MAC_INCLUDED else None
    return _Header(info=info, advertised_mac=advertised_mac)


def decrypt(
    reader: Reader,
    header: _Header,
    *,
    bind_key: str | bytes | None,
    mac: str | bytes | None,
) -> tuple[bytes, int]:
    """The decrypted object bytes and the counter of an encrypted packet, read from
    ``reader`` (positioned after the header)."""
    if reader.remaining < _COUNTER_SIZE + _MIC_SIZE:
        raise reader.error(
            f"truncated: an encrypted packet needs a {_COUNTER_SIZE}-byte counter and a "
            f"{_MIC_SIZE}-byte MIC, {reader.remaining} byte(s) left",
            field="counter",
        )
    if bind_key is None:
        raise reader.error(
            "encrypted packet; a bind key is needed to read it", field="device_info", offset=0
        )
    key = _key_bytes(bind_key)
    nonce_mac = _mac_bytes(mac) if mac is not None else header.advertised_mac
    if nonce_mac is None:
        raise reader.error(
            "encrypted packet; the device MAC address is needed to decrypt it",
            field="device_info",
            offset=0,
        )
    body = reader.rest()
    ciphertext = body[: -(_COUNTER_SIZE + _MIC_SIZE)]
    counter_bytes = body[-(_COUNTER_SIZE + _MIC_SIZE) : -_MIC_SIZE]
    mic = body[-_MIC_SIZE:]
    try:
        payload = AESCCM(key, tag_length=_MIC_SIZE).decrypt(
            _nonce(nonce_mac, header.info, counter_bytes), ciphertext + mic, None
        )
    except InvalidTag:
        raise reader.error(
            "decryption failed (wrong bind key or MAC, or a corrupted packet)",
            field="mic",
            offset=len(reader.data) - _MIC_SIZE,
        ) from None
    return payload, int.from_bytes(counter_bytes, "little")


def read_objects(reader: Reader) -> Objects:
    """Every object from ``reader``'s position to the end, or to the first unknown id."""
    packet_id: int | None = None
    battery: int | None = None
    buttons: list[ButtonEvent] = []
    readings: list[Reading] = []
    unknown: int | None = None
    while reader.remaining:
        start = reader.offset
        object_id = reader.u8("object_id")
        spec = OBJECTS.get(object_id)
        if spec is None:
            # Its length is unknown, so nothing after it can be found: keep what was read.
            unknown = object_id
            break
        field = f"{spec.name}(0x{object_id:02X})"
        if spec.kind in ("text", "raw", "bytes"):
            readings.append(Reading(object_id, spec.name, _read_bytes(reader, spec, field), None))
            continue
        number = int.from_bytes(reader.take(spec.size, field), "little", signed=spec.kind == "s")
        if object_id == OBJECT_PACKET_ID:
            packet_id = number
        elif object_id == OBJECT_BATTERY:
            battery = number
        elif object_id == OBJECT_BUTTON:
            if number not in ButtonEvent._value2member_map_:
                raise reader.error(
                    f"unknown button event 0x{number:02X}", field=field, offset=start + 1
                )
            buttons.append(ButtonEvent(number))
        else:
            readings.append(Reading(object_id, spec.name, _scaled(spec, number), spec.unit))
    return Objects(
        packet_id=packet_id,
        battery=battery,
        button_events=tuple(buttons),
        readings=tuple(readings),
        unknown_object_id=unknown,
    )


def _read_bytes(reader: Reader, spec: _Object, field: str) -> str | bytes:
    if spec.kind == "bytes":
        return reader.take(spec.size, field)
    length = reader.u8(f"{field}.length")
    start = reader.offset
    chunk = reader.take(length, field)
    if spec.kind == "raw":
        return chunk
    try:
        return chunk.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise reader.error(f"text is not UTF-8 ({exc.reason})", field=field, offset=start) from None


def _scaled(spec: _Object, number: int) -> float | int | bool:
    if spec.kind == "bool":
        return number != 0
    if spec.factor == 1:
        return number
    # Rounded to the factor's own precision: 2506 × 0.01 is 25.06, not 25.060000000000002.
    return round(number * spec.factor, 6)


def encode(
    *,
    packet_id: int | None = None,
    battery: int | None = None,
    button_events: tuple[ButtonEvent, ...] | list[ButtonEvent] = (),
    extra_objects: bytes = b"",
    trigger_based: bool = True,
    bind_key: str | bytes | None = None,
    mac: str | bytes | None = None,
    counter: int = 0,
) -> bytes:
    """Service data a BTHome v2 button would advertise (for simulated peripherals and tests).

    Objects are written in id order as the format asks: packet id, battery, button events, then
    ``extra_objects`` (already encoded). With ``bind_key`` and ``mac`` the packet is encrypted.
    """
    objects = b""
    if packet_id is not None:
        objects += bytes([OBJECT_PACKET_ID, packet_id])
    if battery is not None:
        objects += bytes([OBJECT_BATTERY, battery])
    for event in button_events:
        objects += bytes([OBJECT_BUTTON, event])
    objects += extra_objects
    info = VERSION << 5 | (INFO_TRIGGER_BASED if trigger_based else 0)
    if bind_key is None:
        return bytes([info]) + objects
    if mac is None:
        raise ValueError("an encrypted packet needs the device MAC address")
    info |= INFO_ENCRYPTED
    counter_bytes = counter.to_bytes(_COUNTER_SIZE, "little")
    sealed = AESCCM(_key_bytes(bind_key), tag_length=_MIC_SIZE).encrypt(
        _nonce(_mac_bytes(mac), info, counter_bytes), objects, None
    )
    return bytes([info]) + sealed[:-_MIC_SIZE] + counter_bytes + sealed[-_MIC_SIZE:]
