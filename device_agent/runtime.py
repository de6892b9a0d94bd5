"""The composed hub agent: outbox, uplink, heartbeats, local buttons and BLE devices.

Producers only ever write to the outbox; the uplink only ever reads from it. If the server
refuses the hub token, the uplink stops (no hammering), the error is logged clearly, events
keep being stored, and the uplink tries again after ``auth_retry_s`` with the token re-read
from its file (so a re-provisioned hub recovers without a restart).
"""

from __future__ import annotations

import asyncio
import importlib
import logging
import time
from typing import Any

from device_agent.config import BLE_KINDS, AgentConfig, ConfigError, DeviceConfig, DeviceKind
from device_agent.health import HubHealth, heartbeat_loop
from device_agent.local_button import LocalButton, PressClassifier, lines_from
from device_agent.outbox import Outbox
from device_agent.uplink import Uplink, UplinkAuthError

log = logging.getLogger(__name__)

BLE_RESTART_S = 30.0


def load_ble(name: str) -> Any:
    """A function from ``device_agent.ble``, imported only when BLE is actually used."""
    module = importlib.import_module("device_agent.ble")
    try:
        return getattr(module, name)
    except AttributeError:
        raise ImportError(f"device_agent.ble has no {name}()") from None


class Agent:
    def __init__(self, config: AgentConfig, *, ble_backend: Any = None) -> None:
        self.config = config
        self.ble_backend = ble_backend
        self.started = time.monotonic()
        self.outbox = Outbox(config.outbox_path)
        self.health = HubHealth([device.name for device in config.devices])
        self.uplink = Uplink(
            outbox=self.outbox,
            server_url=config.server_url,
            token=config.read_token,
            settings=config.uplink,
        )

    async def run(self) -> None:
        config = self.config
        log.info(
            "agent starting: %d device(s), outbox %s, %d event(s) queued",
            len(config.devices),
            config.outbox_path,
            await self.outbox.depth(),
        )
        try:
            async with asyncio.TaskGroup() as group:
                group.create_task(self._uplink_forever(), name="uplink")
                group.create_task(
                    heartbeat_loop(
                        sink=self.outbox,
                        interval_s=config.heartbeat_interval_s,
                        outbox_depth=self.outbox.depth,
                        health=self.health,
                        hub_device=config.hub_device,
                        started_monotonic=self.started,
                    ),
                    name="heartbeats",
                )
                for device in config.devices:
                    if device.kind == DeviceKind.LOCAL_BUTTON:
                        group.create_task(self._local_button(device), name=device.name)
                ble_devices = [d for d in config.devices if d.kind in BLE_KINDS]
                if ble_devices:
                    group.create_task(self._ble_forever(ble_devices), name="ble")
        finally:
            await self.outbox.close()

    async def _uplink_forever(self) -> None:
        while True:
            try:
                await self.uplink.run()
            except UplinkAuthError as exc:
                log.error("%s; retrying in %.0f s", exc, self.config.uplink.auth_retry_s)
            except ConfigError as exc:  # the token file went missing or empty
                log.error("%s; retrying in %.0f s", exc, self.config.uplink.auth_retry_s)
            await asyncio.sleep(self.config.uplink.auth_retry_s)

    async def _local_button(self, device: DeviceConfig) -> None:
        assert device.source is not None
        button = LocalButton(
            sink=self.outbox,
            device=device.name,
            classifier=PressClassifier(
                long_press_s=device.long_press_s,
                test_presses=device.test_presses,
                window_s=device.press_window_s,
            ),
            health=self.health,
        )
        await button.run(lines_from(device.source))
        self.health.unreachable(device.name, f"button input {device.source} ended")
        log.warning("local button %s: input ended", device.name)

    async def _ble_forever(self, devices: list[DeviceConfig]) -> None:
        try:
            run_devices = load_ble("run_devices")
        except ImportError as exc:
            problem = "BLE support is not installed in this build (device_agent.ble)"
            log.error("%s: %s; BLE devices are not read", problem, exc)
            self.health.adapter(ok=False, problem=problem)
            return
        while True:
            try:
                await run_devices(
                    devices, self.outbox, health=self.health, backend=self.ble_backend
                )
                return
            except Exception as exc:  # a driver crash must not take the panic button down
                log.exception(
                    "BLE devices stopped (%s); restarting in %.0f s",
                    type(exc).__name__,
                    BLE_RESTART_S,
                )
                self.health.adapter(ok=False, problem=f"BLE stopped: {type(exc).__name__}")
            await asyncio.sleep(BLE_RESTART_S)


async def run_agent(config: AgentConfig, *, ble_backend: Any = None) -> None:
    await Agent(config, ble_backend=ble_backend).run()
