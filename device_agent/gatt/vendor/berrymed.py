"""BerryMed-style pulse oximeters (BM1000 family and clones) over a "transparent UART" service.

Many cheap oximeters do not implement the SIG Pulse Oximeter service 0x1822. They stream
5-byte frames, about 100 a second, on the notify characteristic of Microchip's transparent
UART service; frames are split across notifications at arbitrary points.

Frame layout (the "BCI protocol", https://github.com/zh2x/BCI_Protocol, as also read by
Adafruit's ``adafruit_ble_berrymed_pulse_oximeter`` and ``bgould/berrymed-pulseox-reader``):

====  ====================================================================================
byte  bits
====  ====================================================================================
0     bit 7 sync (always 1) · bit 6 pulse beep · bit 5 probe unplugged · bit 4 no signal ·
      bits 0–3 signal strength (0–8)
1     bit 7 0 · bits 0–6 plethysmogram sample (0–127)
2     bit 7 0 · bit 6 pulse rate bit 7 · bit 5 searching for pulse · bit 4 no finger ·
      bits 0–3 bar graph (pulse intensity)
3     bit 7 0 · bits 0–6 pulse rate bits 0–6 (full rate 255 = invalid)
4     bit 7 0 · bits 0–6 SpO2 % (127 = invalid)
====  ====================================================================================

Only the first byte has the high bit set, which is how the parser finds frame starts again
after lost or garbage bytes.
"""

from __future__ import annotations

from dataclasses import dataclass

from device_agent.gatt._reader import as_bytes
from device_agent.gatt.errors import ParseError

SERVICE_UUID = "49535343-fe7d-4ae5-8fa9-9fafd205e455"
NOTIFY_CHARACTERISTIC_UUID = "49535343-1e4d-4bd9-ba61-23c647249616"
WRITE_CHARACTERISTIC_UUID = "49535343-8841-43f4-a8d4-ecbe34729bb3"

FRAME_SIZE = 5
SYNC_BIT = 0x80
INVALID_SPO2 = 127
INVALID_PULSE_RATE = 255


@dataclass(frozen=True, slots=True)
class Frame:
    """One decoded frame. ``spo2``/``pulse_rate`` are ``None`` when the device marks them
    invalid (no finger, still searching); ``raw`` keeps the 5 bytes."""

    signal_strength: int
    no_signal: bool
    probe_unplugged: bool
    pulse_beep: bool
    pleth: int
    bargraph: int
    no_finger: bool
    searching_pulse: bool
    pulse_rate: int | None
    spo2: int | None
    raw: bytes

    @property
    def valid(self) -> bool:
        """A usable reading: both numbers present and a finger in the probe."""
        return self.spo2 is not None and self.pulse_rate is not None and not self.no_finger


def decode_frame(raw: bytes | bytearray | memoryview) -> Frame:
    """Decode one complete, synchronised 5-byte frame (``ParseError`` for anything else)."""
    raw = as_bytes(raw, what="BerryMed frame")
    if len(raw) != FRAME_SIZE:
        raise ParseError(
            f"a frame is {FRAME_SIZE} bytes, got {len(raw)}",
            field="frame", offset=min(len(raw), FRAME_SIZE), context="BerryMed frame",
        )  # fmt: skip
    if not raw[0] & SYNC_BIT:
        raise ParseError("the first byte lacks the sync bit", field="frame", offset=0,
                         context="BerryMed frame")  # fmt: skip
    b0, b1, b2, b3, b4 = raw
    pulse_rate = (b3 & 0x7F) | ((b2 & 0x40) << 1)
    spo2 = b4 & 0x7F
    return Frame(
        signal_strength=b0 & 0x0F,
        no_signal=bool(b0 & 0x10),
        probe_unplugged=bool(b0 & 0x20),
        pulse_beep=bool(b0 & 0x40),
        pleth=b1 & 0x7F,
        bargraph=b2 & 0x0F,
        no_finger=bool(b2 & 0x10),
        searching_pulse=bool(b2 & 0x20),
        pulse_rate=None if pulse_rate == INVALID_PULSE_RATE else pulse_rate,
        spo2=None if spo2 == INVALID_SPO2 else spo2,
        raw=bytes(raw),
    )


def encode_frame(
    *,
    spo2: int | None,
    pulse_rate: int | None,
    pleth: int = 0,
    bargraph: int = 0,
    signal_strength: int = 0,
    no_signal: bool = False,
    probe_unplugged: bool = False,
    pulse_beep: bool = False,
    no_finger: bool = False,
    searching_pulse: bool = False,
) -> bytes:
    """The 5 bytes a device sends (for simulated peripherals); ``None`` → the invalid code."""
    rate = INVALID_PULSE_RATE if pulse_rate is None else pulse_rate
    saturation = INVALID_SPO2 if spo2 is None else spo2
    if not 0 <= rate <= 255 or not 0 <= saturation <= 127:
        raise ValueError("pulse rate must be 0..255 and SpO2 0..127")
    if not 0 <= pleth <= 127 or not 0 <= bargraph <= 15 or not 0 <= signal_strength <= 15:
        raise ValueError("pleth must be 0..127, bar graph and signal strength 0..15")
    return bytes(
        [
            SYNC_BIT | pulse_beep << 6 | probe_unplugged << 5 | no_signal << 4 | signal_strength,
            pleth,
            (rate & 0x80) >> 1 | searching_pulse << 5 | no_finger << 4 | bargraph,
            rate & 0x7F,
            saturation,
        ]
    )


class FrameParser:
    """Streaming parser: ``feed`` notification bytes, get the frames completed by them.

    A byte with the sync bit inside a frame means bytes were lost: the partial frame is dropped
    and a new one starts there. Bytes without the sync bit outside a frame are skipped. Both
    are counted in ``discarded`` for link-quality diagnostics. ``feed`` never raises.
    """

    def __init__(self) -> None:
        self._pending = bytearray()
        self.discarded = 0
        self.frames = 0

    def feed(self, data: bytes | bytearray | memoryview) -> list[Frame]:
        frames: list[Frame] = []
        for byte in bytes(data):
            if byte & SYNC_BIT:
                self.discarded += len(self._pending)
                self._pending = bytearray([byte])
            elif self._pending:
                self._pending.append(byte)
                if len(self._pending) == FRAME_SIZE:
                    frames.append(decode_frame(bytes(self._pending)))
                    self._pending.clear()
            else:
                self.discarded += 1
        self.frames += len(frames)
        return frames

    def reset(self) -> None:
        """Forget a partial frame (e.g. after a reconnect)."""
        self._pending.clear()
