"""The bumble-backed bleak backend, driven through bleak's public API."""

from __future__ import annotations

import asyncio
import time

import pytest
from bleak import BleakClient, BleakScanner
from bleak.exc import BleakGATTProtocolError, BleakGATTProtocolErrorCode

from device_agent.ble import scan
from device_agent.ble.adverts import uuid16
from device_agent.ble.bumble_backend.radio import HUB_ADDRESS
from device_agent.sim import (
    SimulatedBerryMedOximeter,
    SimulatedBloodPressureMonitor,
    SimulatedBthomeButton,
    SimulatedGlucoseMeter,
    SimulatedItagButton,
    SimulatedPlxOximeter,
)
from tests.device_agent.ble.conftest import RERUN_ON_BUMBLE_HANG, simulated_home

# A hung test fails after 90 s instead of 300 s. Only a stuck connect inside bumble is tried
# again (see conftest.simulated_home); any other failure fails at once.
pytestmark = [pytest.mark.timeout(90), RERUN_ON_BUMBLE_HANG]


async def test_scan_finds_every_simulated_device_with_the_right_driver() -> None:
    async with simulated_home(
        [
            SimulatedBloodPressureMonitor(),
            SimulatedPlxOximeter(),
            SimulatedGlucoseMeter(),
            SimulatedBthomeButton(),
            SimulatedBerryMedOximeter(),
            SimulatedItagButton(),
        ]
    ) as home:
        results = await scan(timeout=0.5, backend=home.backend)
    by_name = {r.name: r for r in results}
    assert {name: r.driver for name, r in by_name.items()} == {
        "BP-Sim": "blood_pressure",
        "PLX-Sim": "plx_oximeter",
        "Glucose-Sim": "glucose",
        "SBBT-Sim": "bthome_button",
        "BerryMed": "berrymed_oximeter",
        "iTAG": "itag_button",
    }
    bp = by_name["BP-Sim"]
    assert bp.address == "C1:B0:0D:00:00:01"
    assert uuid16(0x1810) in bp.service_uuids
    assert bp.kind == "bp"
    assert uuid16(0xFCD2) in by_name["SBBT-Sim"].service_uuids


async def test_client_reads_services_and_maps_insufficient_authentication() -> None:
    bp = SimulatedBloodPressureMonitor(require_bonding=True)
    bp.add_reading(systolic=120, diastolic=80)
    async with simulated_home([bp]) as home:
        backend = home.backend
        assert backend.scanner is not None and backend.client is not None
        device = await BleakScanner.find_device_by_address(
            bp.address, timeout=2, backend=backend.scanner
        )
        assert device is not None
        async with BleakClient(device, backend=backend.client, timeout=3) as client:
            assert client.services.get_service(uuid16(0x1810)) is not None
            level = await client.read_gatt_char(uuid16(0x2A19))
            assert level == bytearray([80])
            with pytest.raises(BleakGATTProtocolError) as caught:
                await client.start_notify(uuid16(0x2A35), lambda _c, _d: None)
            assert caught.value.code == BleakGATTProtocolErrorCode.INSUFFICIENT_AUTHENTICATION
            # Real SMP pairing over the link encrypts it; then the cuff lets us in.
            await client.pair()
            received: asyncio.Queue[bytes] = asyncio.Queue()
            await client.start_notify(uuid16(0x2A35), lambda _c, d: received.put_nowait(bytes(d)))
            value = await asyncio.wait_for(received.get(), 2)
            assert value[0] & 0x01 == 0  # mmHg
        assert bp.delivered == [value]
        assert HUB_ADDRESS  # the hub has its own static address on the link


async def test_connect_to_an_absent_device_times_out_and_the_radio_recovers() -> None:
    itag = SimulatedItagButton()
    async with simulated_home([itag]) as home:
        backend = home.backend
        assert backend.client is not None
        dropped = asyncio.Event()
        client = BleakClient(
            itag.address,
            disconnected_callback=lambda _c: dropped.set(),
            backend=backend.client,
            timeout=1.0,
        )
        await client.connect()
        await itag.go_out_of_range()
        await asyncio.wait_for(dropped.wait(), 2)
        started = time.monotonic()
        with pytest.raises(TimeoutError):
            await client.connect()
        assert time.monotonic() - started < 2.5
        await itag.come_back()
        await client.connect()
        assert client.is_connected
        await client.disconnect()
