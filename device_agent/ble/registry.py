"""Which driver takes a device: chosen by advert (service UUID, name, manufacturer) when
scanning, by configured kind (or an explicit driver name) when running."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from device_agent.ble.adverts import Advert
from device_agent.ble.drivers import berrymed, bthome, glucose, itag, readings
from device_agent.ble.drivers.base import Driver, DriverContext
from device_agent.ble.types import BleDeviceSpec, DeviceKind


@dataclass(frozen=True)
class DriverEntry:
    name: str
    kind: DeviceKind
    match: Callable[[Advert], int]
    factory: Callable[[BleDeviceSpec, DriverContext], Driver]


DRIVERS: tuple[DriverEntry, ...] = (
    DriverEntry(
        readings.BLOOD_PRESSURE.driver_name,
        DeviceKind.BLOOD_PRESSURE,
        readings.BLOOD_PRESSURE.match,
        readings.BLOOD_PRESSURE.driver,
    ),
    DriverEntry(
        readings.PLX_SPOT_CHECK.driver_name,
        DeviceKind.OXIMETER,
        readings.PLX_SPOT_CHECK.match,
        readings.PLX_SPOT_CHECK.driver,
    ),
    DriverEntry(
        berrymed.BerryMedOximeterDriver.name,
        DeviceKind.OXIMETER,
        berrymed.match,
        berrymed.BerryMedOximeterDriver,
    ),
    DriverEntry(
        glucose.GlucoseMeterDriver.name,
        DeviceKind.GLUCOSE,
        glucose.match,
        glucose.GlucoseMeterDriver,
    ),
    DriverEntry(
        bthome.BthomeButtonDriver.name,
        DeviceKind.BTHOME_BUTTON,
        bthome.match,
        bthome.BthomeButtonDriver,
    ),
    DriverEntry(
        itag.ItagButtonDriver.name, DeviceKind.ITAG_BUTTON, itag.match, itag.ItagButtonDriver
    ),
)
BY_NAME = {entry.name: entry for entry in DRIVERS}
# The driver a kind gets when neither the configuration nor an advert says otherwise.
DEFAULT_FOR_KIND = {
    DeviceKind.BLOOD_PRESSURE: BY_NAME["blood_pressure"],
    DeviceKind.OXIMETER: BY_NAME["plx_oximeter"],
    DeviceKind.GLUCOSE: BY_NAME["glucose"],
    DeviceKind.BTHOME_BUTTON: BY_NAME["bthome_button"],
    DeviceKind.ITAG_BUTTON: BY_NAME["itag_button"],
}


def choose(advert: Advert) -> DriverEntry | None:
    """The best-scoring driver for an advert, or ``None`` if no driver wants it."""
    best: tuple[int, DriverEntry] | None = None
    for entry in DRIVERS:
        score = entry.match(advert)
        if score > 0 and (best is None or score > best[0]):
            best = (score, entry)
    return best[1] if best else None


class NoDriver(ValueError):
    pass


def driver_for(spec: BleDeviceSpec, advert: Advert | None = None) -> DriverEntry:
    """The configured driver, else the advert's best match of the right kind, else the
    kind's default."""
    if spec.driver:
        try:
            return BY_NAME[spec.driver]
        except KeyError:
            raise NoDriver(
                f"{spec.name}: unknown driver {spec.driver!r}; known: {', '.join(BY_NAME)}"
            ) from None
    if advert is not None:
        chosen = choose(advert)
        if chosen is not None and chosen.kind == spec.kind:
            return chosen
    try:
        return DEFAULT_FOR_KIND[spec.kind]
    except KeyError:
        raise NoDriver(f"{spec.name}: no BLE driver for kind {spec.kind.value!r}") from None
