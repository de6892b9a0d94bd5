"""BerryMed-style vendor oximeters: 5-byte frames, ~100 a second, on a "transparent UART"
notify characteristic. Invalid frames (SpO2 127, pulse 255, no finger) are dropped and one
reading per window is forwarded: the median of the valid frames, so a single glitch or a
finger being repositioned does not become a clinical number.
"""

from __future__ import annotations

import asyncio
import statistics

from bleak import BleakClient

from device_agent.ble.adverts import Advert
from device_agent.ble.drivers.base import ConnectedDriver, DriverContext, StreamConsumer
from device_agent.ble.types import BleDeviceSpec
from device_agent.gatt.vendor import berrymed
from eldercare_protocol import Measurement, MeasurementCode, VitalsEvent, VitalsPayload

# Fewer valid frames than this in a window (about half a second of signal) → no reading.
MIN_VALID_FRAMES = 50


def match(advert: Advert) -> int:
    if advert.has_service(berrymed.SERVICE_UUID):
        return 80 if advert.name_matches("berrymed", "bm1000") else 60
    return 30 if advert.name_matches("berrymed", "bm1000") else 0


class BerryMedOximeterDriver(ConnectedDriver):
    name = "berrymed_oximeter"

    def __init__(self, spec: BleDeviceSpec, ctx: DriverContext) -> None:
        super().__init__(spec, ctx)
        self.min_valid_frames = int(spec.options.get("min_valid_frames", MIN_VALID_FRAMES))
        self.parser = berrymed.FrameParser()
        self.window: list[berrymed.Frame] = []
        self.dropped_invalid = 0

    async def session(self, client: BleakClient) -> None:
        self.parser.reset()
        self.window.clear()
        consumer = StreamConsumer(self._feed)
        try:
            await client.start_notify(berrymed.NOTIFY_CHARACTERISTIC_UUID, consumer)
            while not self.disconnected.is_set():
                try:
                    async with asyncio.timeout(self.ctx.timing.stream_window):
                        await self.disconnected.wait()
                except TimeoutError:
                    await self._report_window()
        finally:
            await consumer.drain_and_stop()

    async def _feed(self, data: bytes) -> None:
        for frame in self.parser.feed(data):
            if frame.valid:
                self.window.append(frame)
            else:
                self.dropped_invalid += 1

    async def _report_window(self) -> None:
        frames, self.window = self.window, []
        if len(frames) < self.min_valid_frames:
            return
        spo2 = statistics.median_low(f.spo2 for f in frames if f.spo2 is not None)
        pulse = statistics.median_low(f.pulse_rate for f in frames if f.pulse_rate is not None)
        await self.emit(
            VitalsEvent(
                **self.event_fields(),
                payload=VitalsPayload(
                    measurements=[
                        Measurement(code=MeasurementCode.SPO2, value=spo2, unit="%"),
                        Measurement(code=MeasurementCode.PULSE, value=pulse, unit="/min"),
                    ],
                    characteristic=berrymed.NOTIFY_CHARACTERISTIC_UUID,
                    raw_hex=frames[-1].raw.hex(),
                    flags={"frames": len(frames), "method": "median"},
                ),
            )
        )
