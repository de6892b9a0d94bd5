"""bleak scanner backend over a :class:`BumbleRadio`."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar, Literal

from bleak.backends.scanner import AdvertisementData, AdvertisementDataCallback, BaseBleakScanner
from bleak.uuids import normalize_uuid_str
from bumble.core import UUID, AdvertisingData
from bumble.device import Advertisement

from device_agent.ble.bumble_backend.radio import BumbleDeviceDetails

if TYPE_CHECKING:
    from device_agent.ble.bumble_backend.radio import BumbleRadio

_UUID_LISTS = (
    AdvertisingData.Type.INCOMPLETE_LIST_OF_16_BIT_SERVICE_CLASS_UUIDS,
    AdvertisingData.Type.COMPLETE_LIST_OF_16_BIT_SERVICE_CLASS_UUIDS,
    AdvertisingData.Type.INCOMPLETE_LIST_OF_32_BIT_SERVICE_CLASS_UUIDS,
    AdvertisingData.Type.COMPLETE_LIST_OF_32_BIT_SERVICE_CLASS_UUIDS,
    AdvertisingData.Type.INCOMPLETE_LIST_OF_128_BIT_SERVICE_CLASS_UUIDS,
    AdvertisingData.Type.COMPLETE_LIST_OF_128_BIT_SERVICE_CLASS_UUIDS,
)
_SERVICE_DATA = (
    AdvertisingData.Type.SERVICE_DATA_16_BIT_UUID,
    AdvertisingData.Type.SERVICE_DATA_32_BIT_UUID,
    AdvertisingData.Type.SERVICE_DATA_128_BIT_UUID,
)


def bleak_uuid(uuid: UUID) -> str:
    """bumble UUID → bleak's lower-case 128-bit string form."""
    return normalize_uuid_str(uuid.to_hex_str("-"))


def advertisement_data(advertisement: Advertisement) -> AdvertisementData:
    """Translate one bumble advertisement report into bleak's ``AdvertisementData``."""
    data = advertisement.data
    name = data.get(AdvertisingData.Type.COMPLETE_LOCAL_NAME) or data.get(
        AdvertisingData.Type.SHORTENED_LOCAL_NAME
    )
    service_uuids: list[str] = []
    for kind in _UUID_LISTS:
        for uuids in data.get_all(kind):
            for uuid in uuids if isinstance(uuids, list) else []:
                text = bleak_uuid(uuid)
                if text not in service_uuids:
                    service_uuids.append(text)
    service_data: dict[str, bytes] = {}
    for kind in _SERVICE_DATA:
        for entry in data.get_all(kind):
            if isinstance(entry, tuple) and isinstance(entry[0], UUID):
                service_data[bleak_uuid(entry[0])] = bytes(entry[1])
    manufacturer_data = {
        company: bytes(payload)
        for company, payload in data.get_all(AdvertisingData.Type.MANUFACTURER_SPECIFIC_DATA)
    }
    return AdvertisementData(
        local_name=name,
        manufacturer_data=manufacturer_data,
        service_data=service_data,
        service_uuids=service_uuids,
        tx_power=data.get(AdvertisingData.Type.TX_POWER_LEVEL),
        rssi=advertisement.rssi,
        platform_data=(advertisement,),
    )


class BumbleScanner(BaseBleakScanner):
    """Scanner half of the bumble backend; use ``BumbleRadio.backend().scanner``."""

    _radio: ClassVar[BumbleRadio]

    def __init__(
        self,
        detection_callback: AdvertisementDataCallback | None,
        service_uuids: list[str] | None,
        scanning_mode: Literal["active", "passive"] = "active",
        **kwargs: Any,
    ) -> None:
        super().__init__(detection_callback, service_uuids)
        # The simulated link answers both modes the same way; the mode is kept for parity.
        self.scanning_mode = scanning_mode

    async def start(self) -> None:
        self.seen_devices = {}
        await self._radio.add_listener(self, self._on_advertisement)

    async def stop(self) -> None:
        await self._radio.remove_listener(self)

    def _on_advertisement(self, advertisement: Advertisement) -> None:
        adv = advertisement_data(advertisement)
        if not self.is_allowed_uuid(adv.service_uuids):
            return
        address = advertisement.address.to_string(False)
        device = self.create_or_update_device(
            address,
            address,
            adv.local_name,
            BumbleDeviceDetails(address=advertisement.address),
            adv,
        )
        self.call_detection_callbacks(device, adv)
