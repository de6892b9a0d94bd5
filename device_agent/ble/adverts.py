"""What drivers are chosen by: one advertisement, in plain fields."""

from __future__ import annotations

from dataclasses import dataclass, field

from bleak.backends.device import BLEDevice
from bleak.backends.scanner import AdvertisementData
from bleak.uuids import normalize_uuid_16


def _company_name(company_id: int) -> str | None:
    try:
        from bleak.backends._manufacturers import MANUFACTURERS
    except ImportError:  # a private table; the name is only a nicety
        return None
    return MANUFACTURERS.get(company_id)


def uuid16(value: int) -> str:
    return normalize_uuid_16(value)


@dataclass(frozen=True)
class Advert:
    address: str
    name: str | None = None
    rssi: int | None = None
    service_uuids: tuple[str, ...] = ()
    service_data: dict[str, bytes] = field(default_factory=dict)
    manufacturer_data: dict[int, bytes] = field(default_factory=dict)

    @classmethod
    def from_bleak(cls, device: BLEDevice, adv: AdvertisementData) -> Advert:
        return cls(
            address=device.address.upper(),
            name=adv.local_name or device.name,
            rssi=adv.rssi,
            service_uuids=tuple(u.lower() for u in adv.service_uuids),
            service_data={k.lower(): bytes(v) for k, v in adv.service_data.items()},
            manufacturer_data=dict(adv.manufacturer_data),
        )

    @property
    def manufacturer(self) -> str | None:
        for company_id in self.manufacturer_data:
            name = _company_name(company_id)
            if name:
                return name
        return None

    def has_service(self, uuid: str) -> bool:
        uuid = uuid.lower()
        return uuid in self.service_uuids or uuid in self.service_data

    def name_matches(self, *prefixes: str) -> bool:
        name = (self.name or "").lower()
        return any(name.startswith(prefix.lower()) for prefix in prefixes)
