import contextlib

import pytest
from cryptography.hazmat.primitives.ciphers.aead import AESCCM
from hypothesis import given
from hypothesis import strategies as st

from device_agent.gatt import ParseError, bthome
from device_agent.gatt.bthome import ButtonEvent
from tests.support.gatt import h

KEY = "231d39c1d7cc1ab1aee224cd096db932"
MAC = "54:48:E6:8F:80:A5"
# bthome.io encryption example (temperature 25.06 °C, humidity 50.55 %, counter bytes 00112233),
# as Home Assistant's bthome-ble decodes it in test_bindkey_correct.
PUBLISHED_ENCRYPTED = h("41 A47266C95F73 00112233 78237214")


def test_long_press() -> None:
    packet = bthome.parse(h("40 3A 04"))
    assert packet.button_events == (ButtonEvent.LONG_PRESS,)
    assert packet.button_events[0].press_type == "long"
    assert not packet.encrypted and not packet.trigger_based
    assert packet.packet_id is None and packet.battery is None


def test_packet_battery_press() -> None:
    packet = bthome.parse(h("44 00 01 01 5A 3A 01"))
    assert packet.trigger_based
    assert packet.packet_id == 1
    assert packet.battery == 90
    assert packet.button_events == (ButtonEvent.PRESS,)
    assert packet.pressed == (ButtonEvent.PRESS,)
    assert packet.readings == ()


@pytest.mark.parametrize(
    ("code", "event", "press_type"),
    [
        (0x00, ButtonEvent.NONE, None),
        (0x01, ButtonEvent.PRESS, "single"),
        (0x02, ButtonEvent.DOUBLE_PRESS, "double"),
        (0x03, ButtonEvent.TRIPLE_PRESS, "triple"),
        (0x04, ButtonEvent.LONG_PRESS, "long"),
        (0x05, ButtonEvent.LONG_DOUBLE_PRESS, "long_double"),
        (0x06, ButtonEvent.LONG_TRIPLE_PRESS, "long_triple"),
        (0x80, ButtonEvent.HOLD_PRESS, "hold"),
    ],
)
def test_button_events(code: int, event: ButtonEvent, press_type: str | None) -> None:
    packet = bthome.parse(bytes([0x44, 0x3A, code]))
    assert packet.button_events == (event,)
    assert event.press_type == press_type


def test_multi_button_device_keeps_order_and_none() -> None:
    packet = bthome.parse(h("44 00 07 3A 00 3A 02 3A 00 3A 04"))
    assert packet.button_events == (
        ButtonEvent.NONE,
        ButtonEvent.DOUBLE_PRESS,
        ButtonEvent.NONE,
        ButtonEvent.LONG_PRESS,
    )
    assert packet.pressed == (ButtonEvent.DOUBLE_PRESS, ButtonEvent.LONG_PRESS)


def test_sensor_objects() -> None:
    # A Shelly BLU H&T Display advert: packet 46, battery 100, light on, humidity 52 %, 27.8 °C.
    packet = bthome.parse(h("40 00 2E 01 64 1E 01 2E 34 45 1601"))
    assert (packet.packet_id, packet.battery) == (46, 100)
    assert [(r.name, r.value, r.unit) for r in packet.readings] == [
        ("light", True, None),
        ("humidity", 52, "%"),
        ("temperature", 27.8, "°C"),
    ]


def test_scaled_and_signed_values_without_float_noise() -> None:
    packet = bthome.parse(h("40 02 CA09 03 BF13 02 0CFE 0C 020C 04 138A01 53 03 616263"))
    values = [(r.name, r.value) for r in packet.readings]
    assert values == [
        ("temperature", 25.06),
        ("humidity", 50.55),
        ("temperature", -5.0),
        ("voltage", 3.074),
        ("pressure", 1008.83),
        ("text", "abc"),
    ]


def test_an_unknown_object_id_stops_the_parse_and_keeps_what_came_before() -> None:
    # The format's rule: stop at the first id not supported, keep the objects already read.
    packet = bthome.parse(h("40 01 5A 99 00 3A 01"))
    assert packet.battery == 90
    assert packet.button_events == ()  # after the unknown id: its position cannot be known
    assert packet.unknown_object_id == 0x99


def test_a_press_followed_by_an_object_newer_than_this_parser_is_kept() -> None:
    # A button whose firmware adds an object after its button event must still call for help.
    packet = bthome.parse(h("44 00 07 01 5A 3A 04 FE 01 02 03"))
    assert (packet.packet_id, packet.battery) == (7, 90)
    assert packet.pressed == (ButtonEvent.LONG_PRESS,)
    assert packet.unknown_object_id == 0xFE
    encrypted = bthome.encode(
        packet_id=8,
        button_events=[ButtonEvent.PRESS],
        extra_objects=h("FE 01 02"),
        bind_key=KEY,
        mac=MAC,
        counter=9,
    )
    packet = bthome.parse(encrypted, bind_key=KEY, mac=MAC)
    assert packet.pressed == (ButtonEvent.PRESS,)
    assert packet.unknown_object_id == 0xFE


def test_every_object_id_reads_so_none_is_unknown() -> None:
    assert bthome.parse(h("40 3A 01")).unknown_object_id is None


@pytest.mark.parametrize(
    ("hex_objects", "name", "value", "unit"),
    [
        # The objects of the current BTHome v2 table that this parser did not read before.
        ("3C 01 03", "dimmer", h("01 03"), None),
        ("55 87 56 00 00", "volume_storage", 22.151, "L"),
        ("56 04 13", "conductivity", 4868, "µS/cm"),
        ("58 F0", "temperature", -5.6, "°C"),
        ("5E 0C 7F", "direction", 325.24, "°"),
        ("5F 66 00", "precipitation", 10.2, "mm"),
        ("60 03", "channel", 3, None),
        ("61 E8 03", "rotational_speed", 1000, "rpm"),
        ("62 40 42 0F 00", "speed", 1.0, "m/s"),
        ("63 C0 BD F0 FF", "acceleration", -1.0, "m/s²"),
        ("64 07", "light_level", 7, None),
        ("F0 01 00", "device_type_id", 1, None),
        ("F1 00 01 02 04", "firmware_version", 0x04020100, None),
        ("F2 00 01 02", "firmware_version", 0x020100, None),
    ],
)
def test_newer_objects(hex_objects: str, name: str, value: object, unit: str | None) -> None:
    packet = bthome.parse(h("40") + h(hex_objects) + h("FF"))
    assert [(r.name, r.value, r.unit) for r in packet.readings] == [(name, value, unit)]
    assert packet.unknown_object_id == 0xFF  # and the next object still has its place


def test_unknown_button_event_is_a_parse_error() -> None:
    with pytest.raises(ParseError, match="button event 0x07"):
        bthome.parse(h("40 3A 07"))


def test_wrong_version_is_a_parse_error() -> None:
    with pytest.raises(ParseError, match="version 7"):
        bthome.parse(h("E1 02 000C 04 138A01"))
    with pytest.raises(ParseError, match="version 1"):
        bthome.parse(h("20 3A 01"))


def test_truncated_object_values() -> None:
    for data in (h("40 02 CA"), h("40 3A"), h("40 00"), h("40 53 05 6162"), h("40 04 1388")):
        with pytest.raises(ParseError, match="truncated"):
            bthome.parse(data)
    with pytest.raises(ParseError, match="truncated"):
        bthome.parse(b"")


def test_mac_included_flag() -> None:
    packet = bthome.parse(h("42 A5808FE64854 3A 01"))
    assert packet.mac == MAC
    assert packet.button_events == (ButtonEvent.PRESS,)


def test_published_encrypted_vector() -> None:
    packet = bthome.parse(PUBLISHED_ENCRYPTED, bind_key=KEY, mac=MAC)
    assert packet.encrypted
    assert packet.counter == 0x33221100
    assert packet.payload == h("02CA09 03BF13")
    assert [(r.name, r.value) for r in packet.readings] == [
        ("temperature", 25.06),
        ("humidity", 50.55),
    ]
    # The MAC may be given as bytes or bare hex too; the key as bytes.
    assert bthome.parse(PUBLISHED_ENCRYPTED, bind_key=bytes.fromhex(KEY), mac="5448E68F80A5")
    assert bthome.parse(PUBLISHED_ENCRYPTED, bind_key=KEY, mac=bytes.fromhex("5448E68F80A5"))


def test_nonce_layout_built_independently_with_cryptography() -> None:
    objects = h("00 11 01 4B 3A 04")
    counter = (7).to_bytes(4, "little")
    info = 0x45
    nonce = bytes.fromhex("5448E68F80A5") + b"\xd2\xfc" + bytes([info]) + counter
    sealed = AESCCM(bytes.fromhex(KEY), tag_length=4).encrypt(nonce, objects, None)
    data = bytes([info]) + sealed[:-4] + counter + sealed[-4:]
    packet = bthome.parse(data, bind_key=KEY, mac=MAC)
    assert (packet.packet_id, packet.battery, packet.counter) == (0x11, 75, 7)
    assert packet.button_events == (ButtonEvent.LONG_PRESS,)
    assert packet.trigger_based
    # bthome.encode produces exactly the same bytes.
    assert (
        bthome.encode(
            packet_id=0x11,
            battery=75,
            button_events=[ButtonEvent.LONG_PRESS],
            bind_key=KEY,
            mac=MAC,
            counter=7,
        )
        == data
    )


def test_encrypted_without_key_says_a_key_is_needed() -> None:
    with pytest.raises(ParseError, match="bind key is needed"):
        bthome.parse(PUBLISHED_ENCRYPTED)


def test_encrypted_without_mac_says_so() -> None:
    with pytest.raises(ParseError, match="MAC address is needed"):
        bthome.parse(PUBLISHED_ENCRYPTED, bind_key=KEY)


def test_wrong_key_or_mac_or_tampering_fails_decryption() -> None:
    with pytest.raises(ParseError, match="decryption failed"):
        bthome.parse(PUBLISHED_ENCRYPTED, bind_key="814aac74c4f17b6c1581e1ab87816b99", mac=MAC)
    with pytest.raises(ParseError, match="decryption failed"):
        bthome.parse(PUBLISHED_ENCRYPTED, bind_key=KEY, mac="A4:C1:38:8D:18:B2")
    tampered = bytearray(PUBLISHED_ENCRYPTED)
    tampered[3] ^= 0x01
    with pytest.raises(ParseError, match="decryption failed"):
        bthome.parse(bytes(tampered), bind_key=KEY, mac=MAC)
    # The counter is part of the nonce, so a replayed packet with a forged counter fails too.
    forged = PUBLISHED_ENCRYPTED[:7] + b"\x01" + PUBLISHED_ENCRYPTED[8:]
    with pytest.raises(ParseError, match="decryption failed"):
        bthome.parse(forged, bind_key=KEY, mac=MAC)


def test_published_wrong_key_vector() -> None:
    # bthome-ble test_bindkey_wrong: this advert does not decrypt with this key.
    data = h("41 D2FCEFE52EB212D6 00112233 BC38C966")
    with pytest.raises(ParseError, match="decryption failed"):
        bthome.parse(data, bind_key="814aac74c4f17b6c1581e1ab87816b99", mac="A4:C1:38:8D:18:B2")


def test_encrypted_too_short_for_counter_and_mic() -> None:
    for n in range(1, 9):
        with pytest.raises(ParseError, match="truncated"):
            bthome.parse(PUBLISHED_ENCRYPTED[:n], bind_key=KEY, mac=MAC)


def test_oversized_service_data_is_a_parse_error() -> None:
    with pytest.raises(ParseError, match="more than one advertisement"):
        bthome.parse(h("41") + bytes(70_000), bind_key=KEY, mac=MAC)
    assert bthome.parse(h("40") + h("3A00") * 125).button_events == (ButtonEvent.NONE,) * 125


def test_bad_key_or_mac_arguments_are_value_errors() -> None:
    with pytest.raises(ValueError, match="16 bytes"):
        bthome.parse(PUBLISHED_ENCRYPTED, bind_key="00", mac=MAC)
    with pytest.raises(ValueError, match="6 bytes"):
        bthome.parse(PUBLISHED_ENCRYPTED, bind_key=KEY, mac="54:48")


def test_encode_round_trip_plain() -> None:
    data = bthome.encode(packet_id=9, battery=88, button_events=[ButtonEvent.TRIPLE_PRESS])
    assert data == h("44 00 09 01 58 3A 03")
    packet = bthome.parse(data)
    assert (packet.packet_id, packet.battery, packet.button_events) == (
        9,
        88,
        (ButtonEvent.TRIPLE_PRESS,),
    )


@given(
    st.integers(0, 255),
    st.integers(0, 100),
    st.lists(st.sampled_from(list(ButtonEvent)), max_size=4),
    st.integers(0, 2**32 - 1),
)
def test_encrypted_round_trip(
    packet_id: int, battery: int, events: list[ButtonEvent], counter: int
) -> None:
    data = bthome.encode(
        packet_id=packet_id,
        battery=battery,
        button_events=events,
        bind_key=KEY,
        mac=MAC,
        counter=counter,
    )
    packet = bthome.parse(data, bind_key=KEY, mac=MAC)
    assert (packet.packet_id, packet.battery, packet.counter) == (packet_id, battery, counter)
    assert packet.button_events == tuple(events)


@given(st.binary(max_size=64))
def test_fuzz_plain(data: bytes) -> None:
    with contextlib.suppress(ParseError):
        bthome.parse(data)


@given(st.binary(max_size=64))
def test_fuzz_with_key(data: bytes) -> None:
    with contextlib.suppress(ParseError):
        bthome.parse(data, bind_key=KEY, mac=MAC)
