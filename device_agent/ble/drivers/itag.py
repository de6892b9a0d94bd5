"""iTag-style buttons: stay connected, every 0x01 on 0xFFE1 is a press → panic."""

from __future__ import annotations

from dataclasses import replace

from bleak import BleakClient

from device_agent.ble import payloads
from device_agent.ble.adverts import Advert, uuid16
from device_agent.ble.drivers.base import ConnectedDriver, StreamConsumer
from device_agent.gatt import ParseError, buttons
from eldercare_protocol import PanicEvent


def match(advert: Advert) -> int:
    if advert.has_service(uuid16(buttons.SERVICE_UUID)):
        return 70
    return 40 if advert.name_matches("itag") else 0


class ItagButtonDriver(ConnectedDriver):
    """Holds the link as long as it lasts; when it drops, reconnects with back-off at once
    (the base loop), since a panic button that is not connected cannot call for help."""

    name = "itag_button"

    async def run(self) -> None:
        # No polling pause between sessions: reconnect immediately after a drop.
        self.ctx = replace(self.ctx, timing=replace(self.ctx.timing, poll_interval=0.0))
        await super().run()

    async def session(self, client: BleakClient) -> None:
        consumer = StreamConsumer(self._press)
        try:
            await client.start_notify(uuid16(buttons.PRESS_UUID), consumer)
            await self.disconnected.wait()
            self.ctx.health.update(self.device_id, reachable=False, problem="link dropped")
        finally:
            await consumer.drain_and_stop()

    async def _press(self, data: bytes) -> None:
        try:
            payload = payloads.itag_panic(data)
        except ParseError as exc:
            self.log.warning("%s: ignored %s: %s", self.spec.name, data.hex(), exc)
            return
        await self.emit(PanicEvent(**self.event_fields(), payload=payload))
