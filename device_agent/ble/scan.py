"""``scan``: what is around, and which driver would take each device."""

from __future__ import annotations

from dataclasses import dataclass

from bleak import BleakScanner

from device_agent.ble.adverts import Advert
from device_agent.ble.registry import choose
from device_agent.ble.types import PLATFORM_BACKEND, BleBackend, scanner_args


@dataclass(frozen=True)
class ScanResult:
    address: str
    name: str | None
    rssi: int | None
    service_uuids: tuple[str, ...]
    manufacturer: str | None
    driver: str | None
    kind: str | None


async def scan(*, timeout: float, backend: BleBackend | None = None) -> list[ScanResult]:  # noqa: ASYNC109 - the listening time, not a deadline
    """Listen for ``timeout`` seconds; strongest signal first."""
    backend = backend or PLATFORM_BACKEND
    found = await BleakScanner.discover(timeout=timeout, return_adv=True, **scanner_args(backend))
    results: list[ScanResult] = []
    for device, adv in found.values():
        advert = Advert.from_bleak(device, adv)
        entry = choose(advert)
        results.append(
            ScanResult(
                address=advert.address,
                name=advert.name,
                rssi=advert.rssi,
                service_uuids=advert.service_uuids
                + tuple(u for u in advert.service_data if u not in advert.service_uuids),
                manufacturer=advert.manufacturer,
                driver=entry.name if entry else None,
                kind=entry.kind.value if entry else None,
            )
        )
    results.sort(key=lambda r: -(r.rssi if r.rssi is not None else -999))
    return results
