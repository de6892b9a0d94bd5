"""BerryMed-style vendor oximeters: 5-byte frames, ~100 a second, on a "transparent UART"
notify characteristic. Invalid frames (SpO2 127, pulse 255, no finger) are counted and one
reading per window is forwarded (``payloads.oximeter_window_payload``: the median of the
valid frames).
"""

from __future__ import annotations

import asyncio

from bleak import BleakClient

from device_agent.ble import payloads
from device_agent.ble.adverts import Advert
from device_agent.ble.drivers.base import ConnectedDriver, DriverContext, StreamConsumer
from device_agent.ble.types import BleDeviceSpec
from device_agent.gatt.vendor import berrymed
from eldercare_protocol import VitalsEvent


def match(advert: Advert) -> int:
    if advert.has_service(berrymed.SERVICE_UUID):
        return 80 if advert.name_matches("berrymed", "bm1000") else 60
    return 30 if advert.name_matches("berrymed", "bm1000") else 0


class BerryMedOximeterDriver(ConnectedDriver):
    name = "berrymed_oximeter"

    def __init__(self, spec: BleDeviceSpec, ctx: DriverContext) -> None:
        super().__init__(spec, ctx)
        self.min_valid_frames = int(spec.options.get("min_valid_frames", payloads.MIN_VALID_FRAMES))
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
        payload = payloads.oximeter_window_payload(frames, min_valid_frames=self.min_valid_frames)
        if payload is not None:
            await self.emit(VitalsEvent(**self.event_fields(), payload=payload))
