"""Bluetooth health devices with no radio: Chromium's CDP ``BluetoothEmulation`` domain.

The emulated adapter lives on a browser-level CDP session (a page session does not have the
domain); the device chooser is answered on the page's ``DeviceAccess`` domain. Every GATT
operation the page starts (connection, service discovery, subscribing, reads and writes) is
answered with success here and recorded in ``operations``, in order, with the bytes written.

What the emulation cannot do (Chromium 156): push a notification or an indication. Its
characteristic operations are read, write, subscribe and unsubscribe only; an unsolicited read
response reaches nothing. Measurement bytes are therefore handed to the page's subscribed
handler through the app's automation-only hook (``deliver``). Nor does a "powered-off" central
(``setSimulatedCentralState``) behave like a tablet with Bluetooth off: ``getAvailability()``
stays true and a cancelled chooser does not end ``requestDevice``, so that message is untested.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass, field
from typing import Any

from playwright.sync_api import Browser, CDPSession, Page

BASE = "-0000-1000-8000-00805f9b34fb"
CCCD = 0x2902


def uuid128(short: int) -> str:
    return f"{short:08x}{BASE}"


@dataclass
class Operation:
    kind: str  # "connection", "discovery", "subscribe-to-notifications", "write", "read", …
    uuid: int | None = None  # the characteristic's 16-bit UUID
    data: bytes | None = None


@dataclass
class Adapter:
    browser: Browser
    cdp: CDPSession = field(init=False)
    operations: list[Operation] = field(default_factory=list)
    _characteristics: dict[str, int] = field(default_factory=dict)
    _prompts: set[str] = field(default_factory=set)
    answer: str = "select"  # or "cancel": what the "user" does in the chooser

    def __post_init__(self) -> None:
        self.cdp = self.browser.new_browser_cdp_session()
        self.cdp.on("BluetoothEmulation.gattOperationReceived", self._gatt)
        self.cdp.on("BluetoothEmulation.characteristicOperationReceived", self._characteristic)
        self.cdp.on("BluetoothEmulation.descriptorOperationReceived", self._descriptor)
        self.cdp.send("BluetoothEmulation.enable", {"state": "powered-on", "leSupported": True})

    def close(self) -> None:
        self.cdp.send("BluetoothEmulation.disable")
        self.cdp.detach()

    # -- the peripherals ---------------------------------------------------------------

    def add_device(
        self, address: str, name: str, services: dict[int, dict[int, dict[str, bool]]]
    ) -> None:
        """A device already in range: ``services`` maps service UUID → characteristic UUID →
        properties. Notifying or indicating characteristics get their 0x2902 descriptor."""
        self.cdp.send(
            "BluetoothEmulation.simulatePreconnectedPeripheral",
            {"address": address, "name": name, "manufacturerData": [],
             "knownServiceUuids": [uuid128(s) for s in services]},
        )  # fmt: skip
        for service, characteristics in services.items():
            service_id = self.cdp.send(
                "BluetoothEmulation.addService",
                {"address": address, "serviceUuid": uuid128(service)},
            )["serviceId"]
            for uuid, properties in characteristics.items():
                characteristic_id = self.cdp.send(
                    "BluetoothEmulation.addCharacteristic",
                    {"serviceId": service_id, "characteristicUuid": uuid128(uuid),
                     "properties": properties},
                )["characteristicId"]  # fmt: skip
                self._characteristics[characteristic_id] = uuid
                if properties.get("notify") or properties.get("indicate"):
                    self.cdp.send(
                        "BluetoothEmulation.addDescriptor",
                        {"characteristicId": characteristic_id, "descriptorUuid": uuid128(CCCD)},
                    )

    def drop(self, address: str) -> None:
        """The device goes out of range (the page sees ``gattserverdisconnected``)."""
        self.cdp.send("BluetoothEmulation.simulateGATTDisconnection", {"address": address})

    # -- the chooser ---------------------------------------------------------------------

    def watch_chooser(self, page: Page) -> None:
        session = page.context.new_cdp_session(page)
        session.send("DeviceAccess.enable")

        def prompted(event: dict[str, Any]) -> None:
            # The event repeats while the chooser is open; answer each chooser once.
            if event["id"] in self._prompts or (self.answer == "select" and not event["devices"]):
                return
            self._prompts.add(event["id"])
            if self.answer == "cancel":
                session.send("DeviceAccess.cancelPrompt", {"id": event["id"]})
            else:
                device = event["devices"][0]["id"]
                session.send("DeviceAccess.selectPrompt", {"id": event["id"], "deviceId": device})

        session.on("DeviceAccess.deviceRequestPrompted", prompted)

    # -- answers -------------------------------------------------------------------------

    def _gatt(self, event: dict[str, Any]) -> None:
        self.operations.append(Operation(event["type"]))
        self.cdp.send(
            "BluetoothEmulation.simulateGATTOperationResponse",
            {"address": event["address"], "type": event["type"], "code": 0},
        )

    def _characteristic(self, event: dict[str, Any]) -> None:
        data = base64.b64decode(event["data"]) if event.get("data") else None
        uuid = self._characteristics.get(event["characteristicId"])
        self.operations.append(Operation(event["type"], uuid, data))
        self.cdp.send(
            "BluetoothEmulation.simulateCharacteristicOperationResponse",
            {"characteristicId": event["characteristicId"], "type": event["type"], "code": 0},
        )

    def _descriptor(self, event: dict[str, Any]) -> None:
        self.operations.append(Operation(f"descriptor-{event['type']}"))
        self.cdp.send(
            "BluetoothEmulation.simulateDescriptorOperationResponse",
            {"descriptorId": event["descriptorId"], "type": event["type"], "code": 0},
        )


def deliver(page: Page, uuid: int, hex_bytes: str) -> None:
    """Hand a notification's bytes to the page's subscribed handler (see the module's note)."""
    delivered = page.evaluate(
        "([uuid, hex]) => window.eldercareBluetooth.deliver(uuid, hex)", [uuid, hex_bytes]
    )
    assert delivered, f"nothing on the page is subscribed to 0x{uuid:04X}"
