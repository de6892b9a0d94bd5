"""Simulated panic buttons: a BTHome v2 advertiser (Shelly BLU Button style) and a connected
iTag-style button notifying 0x01 on 0xFFE1 per press.
"""

from __future__ import annotations

from bumble.core import AdvertisingData
from bumble.device import Device
from bumble.gatt import Characteristic, Service

from device_agent.gatt import bthome, buttons
from device_agent.sim.peripheral import SimulatedPeripheral, notifications_enabled, uuid16


class SimulatedBthomeButton(SimulatedPeripheral):
    """Each press advertises a new packet (packet id + 1), repeated every advertising
    interval until the next press, as the real button repeats a press several times."""

    def __init__(
        self,
        *,
        address: str = "C1:B0:0D:00:00:05",
        name: str = "SBBT-Sim",
        bind_key: str | None = None,
        battery: int = 95,
    ) -> None:
        super().__init__(address=address, name=name, battery=None)
        self.bind_key = bind_key
        self.button_battery = battery
        self.packet_id = 0
        self.counter = 0
        self._events: tuple[bthome.ButtonEvent, ...] = ()

    def service_data(self) -> bytes:
        return bthome.encode(
            packet_id=self.packet_id,
            battery=self.button_battery,
            button_events=self._events,
            bind_key=self.bind_key,
            mac=self.address if self.bind_key else None,
            counter=self.counter,
        )

    def advertising_data(self) -> bytes:
        return bytes(
            AdvertisingData(
                [
                    (AdvertisingData.Type.FLAGS, bytes([0x06])),
                    (AdvertisingData.Type.COMPLETE_LOCAL_NAME, self.name.encode()),
                    (
                        AdvertisingData.Type.SERVICE_DATA_16_BIT_UUID,
                        bytes(uuid16(bthome.SERVICE_UUID)) + self.service_data(),
                    ),
                ]
            )
        )

    async def press(self, event: bthome.ButtonEvent = bthome.ButtonEvent.PRESS) -> None:
        self.packet_id = (self.packet_id + 1) % 256
        self.counter += 1
        self._events = (event,)
        await self.start_advertising()


class SimulatedItagButton(SimulatedPeripheral):
    service_uuids = (uuid16(buttons.SERVICE_UUID),)

    def __init__(
        self, *, address: str = "C1:B0:0D:00:00:06", name: str = "iTAG", battery: int = 88
    ) -> None:
        super().__init__(address=address, name=name, battery=battery)
        self.alerts: list[bytes] = []
        self._press: Characteristic[bytes] | None = None

    def build_services(self, device: Device) -> list[Service]:
        from bumble import att

        self._press = Characteristic(
            uuid16(buttons.PRESS_UUID),
            Characteristic.Properties.NOTIFY,
            Characteristic.READABLE,
            b"",
        )
        alert: Characteristic[bytes] = Characteristic(
            uuid16(buttons.ALERT_LEVEL_UUID),
            Characteristic.Properties.WRITE_WITHOUT_RESPONSE,
            Characteristic.WRITEABLE,
            att.AttributeValue(write=lambda _conn, value: self.alerts.append(bytes(value))),
        )
        return [
            Service(uuid16(buttons.SERVICE_UUID), [self._press]),
            Service(uuid16(buttons.IMMEDIATE_ALERT_SERVICE_UUID), [alert]),
        ]

    @property
    def subscribed(self) -> bool:
        """A connected hub has turned on press notifications (a press now reaches it)."""
        if self.device is None or self._press is None:
            return False
        return any(
            notifications_enabled(self.device, connection, self._press)
            for connection in self.connections
        )

    async def press(self) -> None:
        device = self._require_device()
        assert self._press is not None
        await device.notify_subscribers(self._press, bytes([buttons.PRESS_VALUE]))
