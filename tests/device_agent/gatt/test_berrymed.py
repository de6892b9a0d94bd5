from hypothesis import given
from hypothesis import strategies as st

from device_agent.gatt.vendor import berrymed
from device_agent.gatt.vendor.berrymed import FrameParser
from tests.support.gatt import h


def test_literal_frame() -> None:
    # sync + beep + strength 6 | pleth 50 | PR bit 7 + bargraph 5 | PR low 0x0C | SpO2 97
    (frame,) = FrameParser().feed(h("C6 32 45 0C 61"))
    assert frame.signal_strength == 6
    assert frame.pulse_beep and not frame.probe_unplugged and not frame.no_signal
    assert frame.pleth == 50
    assert frame.bargraph == 5
    assert frame.pulse_rate == 140  # 0x80 | 0x0C
    assert frame.spo2 == 97
    assert frame.valid
    assert frame.raw == h("C6 32 45 0C 61")


def test_invalid_markers() -> None:
    # No finger, searching pulse, PR 255 and SpO2 127 mean "no reading".
    (frame,) = FrameParser().feed(h("A0 00 70 7F 7F"))
    assert frame.probe_unplugged
    assert frame.no_finger and frame.searching_pulse
    assert frame.pulse_rate is None and frame.spo2 is None
    assert not frame.valid


def test_frames_split_across_notifications() -> None:
    frame = berrymed.encode_frame(spo2=98, pulse_rate=72, pleth=40, bargraph=3)
    stream = frame * 3
    parser = FrameParser()
    frames = []
    for cut in (1, 3, 4, 9, 10, 15):
        frames += parser.feed(stream[:cut])
        stream = stream[cut:]
    assert stream == b""
    assert [(f.spo2, f.pulse_rate) for f in frames] == [(98, 72)] * 3
    assert parser.discarded == 0
    assert parser.frames == 3


def test_resynchronises_after_garbage_and_lost_bytes() -> None:
    good = berrymed.encode_frame(spo2=95, pulse_rate=61)
    parser = FrameParser()
    # Garbage before the first frame; a frame cut short by a new sync byte.
    frames = parser.feed(h("01 02 7F") + good[:3] + good + good)
    assert [(f.spo2, f.pulse_rate) for f in frames] == [(95, 61), (95, 61)]
    assert parser.discarded == 3 + 3


def test_reset_drops_a_partial_frame() -> None:
    parser = FrameParser()
    frame = berrymed.encode_frame(spo2=95, pulse_rate=61)
    assert parser.feed(frame[:4]) == []
    parser.reset()
    assert parser.feed(frame[4:]) == []


def test_uuids() -> None:
    assert berrymed.SERVICE_UUID == "49535343-fe7d-4ae5-8fa9-9fafd205e455"
    assert berrymed.NOTIFY_CHARACTERISTIC_UUID == "49535343-1e4d-4bd9-ba61-23c647249616"


@given(
    st.integers(0, 127),
    st.integers(0, 255),
    st.integers(0, 127),
    st.integers(0, 15),
    st.integers(0, 15),
    st.booleans(),
    st.booleans(),
    st.booleans(),
    st.booleans(),
    st.booleans(),
)
def test_encode_decode_round_trip(
    spo2: int,
    pulse_rate: int,
    pleth: int,
    bargraph: int,
    strength: int,
    no_signal: bool,
    unplugged: bool,
    beep: bool,
    no_finger: bool,
    searching: bool,
) -> None:
    data = berrymed.encode_frame(
        spo2=spo2,
        pulse_rate=pulse_rate,
        pleth=pleth,
        bargraph=bargraph,
        signal_strength=strength,
        no_signal=no_signal,
        probe_unplugged=unplugged,
        pulse_beep=beep,
        no_finger=no_finger,
        searching_pulse=searching,
    )
    assert data[0] & 0x80 and not any(byte & 0x80 for byte in data[1:])
    (frame,) = FrameParser().feed(data)
    assert frame.spo2 == (None if spo2 == 127 else spo2)
    assert frame.pulse_rate == (None if pulse_rate == 255 else pulse_rate)
    assert (frame.pleth, frame.bargraph, frame.signal_strength) == (pleth, bargraph, strength)
    assert (frame.no_signal, frame.probe_unplugged, frame.pulse_beep) == (
        no_signal,
        unplugged,
        beep,
    )
    assert (frame.no_finger, frame.searching_pulse) == (no_finger, searching)


@given(st.lists(st.binary(max_size=64), max_size=8))
def test_fuzz_never_raises_and_accounts_for_every_byte(chunks: list[bytes]) -> None:
    parser = FrameParser()
    frames = [frame for chunk in chunks for frame in parser.feed(chunk)]
    total = sum(len(chunk) for chunk in chunks)
    pending = total - parser.discarded - 5 * len(frames)
    assert 0 <= pending < 5
    for frame in frames:
        assert len(frame.raw) == 5 and frame.raw[0] & 0x80


@given(st.binary(max_size=64), st.integers(60, 99), st.integers(40, 200))
def test_garbage_then_a_good_frame_is_always_found(garbage: bytes, spo2: int, pr: int) -> None:
    good = berrymed.encode_frame(spo2=spo2, pulse_rate=pr)
    frames = FrameParser().feed(garbage + good)
    assert frames and (frames[-1].spo2, frames[-1].pulse_rate) == (spo2, pr)
