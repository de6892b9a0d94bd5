"""A simulated blood pressure monitor (service 0x1810) that indicates its stored readings.

Like a home cuff, it keeps readings until they have been delivered: when a client enables
indications on 0x2A35, each stored reading is indicated and dropped once confirmed. It can
insist on bonding first, answering "insufficient authentication" as unbonded cuffs do.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import datetime
from typing import Any

from bumble.device import Connection, Device
from bumble.gatt import Characteristic, Service

from device_agent.gatt import blood_pressure
from device_agent.sim.peripheral import (
    SimulatedPeripheral,
    guarded_cccd,
    indications_enabled,
    uuid16,
)

logger = logging.getLogger(__name__)


class SimulatedBloodPressureMonitor(SimulatedPeripheral):
    service_uuids = (uuid16(blood_pressure.SERVICE_UUID),)

    def __init__(
        self,
        *,
        address: str = "C1:B0:0D:00:00:01",
        name: str = "BP-Sim",
        require_bonding: bool = False,
        battery: int | None = 80,
    ) -> None:
        super().__init__(address=address, name=name, battery=battery)
        self.require_bonding = require_bonding
        # Peers bonded out of band (what `bluetoothctl pair` would leave behind).
        self.bonded_peers: set[str] = set()
        self.stored: list[bytes] = []
        self.delivered: list[bytes] = []
        self.refused_subscriptions = 0
        self._measurement: Characteristic[bytes] | None = None
        self._sending: dict[Connection, asyncio.Task[None]] = {}

    def add_reading(
        self,
        *,
        systolic: float,
        diastolic: float,
        mean_arterial_pressure: float | None = None,
        pulse_rate: float | None = None,
        timestamp: datetime | None = None,
        **fields: Any,
    ) -> bytes:
        """Store a reading (and indicate it at once to a subscribed client)."""
        mean = (
            mean_arterial_pressure
            if mean_arterial_pressure is not None
            else round((systolic + 2 * diastolic) / 3)
        )
        value = blood_pressure.encode_measurement(
            systolic=systolic,
            diastolic=diastolic,
            mean_arterial_pressure=mean,
            pulse_rate=pulse_rate,
            timestamp=timestamp,
            **fields,
        )
        self.add_raw(value)
        return value

    def add_raw(self, value: bytes) -> None:
        self.stored.append(value)
        for connection in list(self.connections):
            self._kick(connection)

    def pair_with(self, address: str) -> None:
        """Mark a central as bonded, as if paired in the cuff's pairing mode."""
        self.bonded_peers.add(address.upper())

    def _allowed(self, connection: Connection) -> bool:
        if not self.require_bonding:
            return True
        peer = connection.peer_address.to_string(False)
        allowed = bool(connection.encryption) or peer in self.bonded_peers
        if not allowed:
            self.refused_subscriptions += 1
        return allowed

    def build_services(self, device: Device) -> list[Service]:
        measurement: Characteristic[bytes] = Characteristic(
            uuid16(blood_pressure.MEASUREMENT_UUID),
            Characteristic.Properties.INDICATE,
            Characteristic.READABLE,
            b"",
        )
        measurement.descriptors = [guarded_cccd(device, measurement, self._allowed)]
        feature: Characteristic[bytes] = Characteristic(
            uuid16(blood_pressure.FEATURE_UUID),
            Characteristic.Properties.READ,
            Characteristic.READABLE,
            bytes([0x00, 0x00]),
        )
        self._measurement = measurement
        device.on("characteristic_subscription", self._on_subscription)
        return [Service(uuid16(blood_pressure.SERVICE_UUID), [measurement, feature])]

    def _on_subscription(
        self, connection: Connection, characteristic: Any, _notify: bool, indicate: bool
    ) -> None:
        if characteristic is self._measurement and indicate:
            self._kick(connection)

    def _kick(self, connection: Connection) -> None:
        running = self._sending.get(connection)
        if running is None or running.done():
            self._sending[connection] = asyncio.create_task(self._send_stored(connection))

    async def _send_stored(self, connection: Connection) -> None:
        device = self._require_device()
        assert self._measurement is not None
        while self.stored and connection in self.connections:
            value = self.stored[0]
            try:
                await device.indicate_subscriber(connection, self._measurement, value)
            except Exception:  # the link dropped: keep the reading for next time
                logger.debug("indication failed", exc_info=True)
                return
            if not indications_enabled(device, connection, self._measurement):
                return  # nothing was sent
            self.stored.pop(0)
            self.delivered.append(value)

    def on_disconnection(self, connection: Connection) -> None:
        task = self._sending.pop(connection, None)
        if task is not None:
            task.cancel()
