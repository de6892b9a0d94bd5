"""The composed hub agent: outbox, uplink, heartbeats, local buttons and BLE devices.

Producers only ever write to the outbox; the uplink only ever reads from it. If the server
refuses the hub token, the uplink stops (no hammering), the error is logged clearly, events
keep being stored, and the uplink tries again after ``auth_retry_s`` with the token re-read
from its file (so a re-provisioned hub recovers without a restart).

BLE devices are the configuration's ``BleDeviceSpec`` entries, handed as they are to
``device_agent.ble.run_devices`` with the outbox as sink and ``HubHealth`` as health
reporter. The BLE package is imported only when a BLE device is configured, so a hub with
only a wired button runs without bleak installed.
"""

from __future__ import annotations

import asyncio
import logging
import time
from typing import TYPE_CHECKING
from uuid import uuid4

from device_agent.clock import utc_now
from device_agent.config import AgentConfig, BleDeviceSpec, ConfigError, LocalButtonSpec
from device_agent.health import HubHealth, heartbeat_loop
from device_agent.local_button import LocalButton, PressClassifier, lines_from
from device_agent.outbox import Outbox
from device_agent.speaker import Speaker, player_from_setting
from device_agent.uplink import Uplink, UplinkAuthError
from eldercare_protocol import (
    DeviceStatus,
    DeviceStatusEvent,
    DeviceStatusPayload,
    Downlink,
    DownlinkOutcome,
)

if TYPE_CHECKING:
    from device_agent.ble import BleBackend, Timing

log = logging.getLogger(__name__)

BLE_RESTART_S = 30.0
ADAPTER_RETRY_S = 30.0


class Agent:
    def __init__(
        self,
        config: AgentConfig,
        *,
        ble_backend: BleBackend | None = None,
        ble_timing: Timing | None = None,
        adapter_retry_s: float = ADAPTER_RETRY_S,
    ) -> None:
        """``ble_backend``: ``None`` for the platform's Bluetooth (BlueZ), or a simulated
        radio's (``SimulatedHome.backend``). ``ble_timing``: driver patience (tests shrink it).
        """
        self.config = config
        self.ble_backend = ble_backend
        self.ble_timing = ble_timing
        self.adapter_retry_s = adapter_retry_s
        self.started = time.monotonic()
        self.outbox = Outbox(config.outbox_path)
        self.health = HubHealth(
            ble=[d.device_id for d in config.ble_devices],
            wired=[d.device_id for d in config.local_buttons],
        )
        self.speaker = Speaker(player_from_setting(config.speaker))
        self.health.speaker_ok = self.speaker.ok
        self.uplink = Uplink(
            outbox=self.outbox,
            server_url=config.server_url,
            token=config.read_token,
            settings=config.uplink,
            cellular=config.cellular,
            downlink=self._downlink,
        )

    async def _downlink(self, downlink: Downlink) -> DownlinkOutcome:
        return await self.speaker.say(str(downlink.id), downlink.prompt)

    async def run(self) -> None:
        config = self.config
        log.info(
            "agent starting: %d device(s), outbox %s, %d event(s) queued",
            len(config.devices),
            config.outbox_path,
            await self.outbox.depth(),
        )
        if not self.speaker.ok:
            log.warning("no speaker: prompts such as 'help is coming' cannot be said aloud")
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
                        storage_problem=self.outbox.storage_state,
                    ),
                    name="heartbeats",
                )
                for button in config.local_buttons:
                    group.create_task(self._local_button(button), name=button.name)
                if config.ble_devices:
                    group.create_task(self._ble_forever(config.ble_devices), name="ble")
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

    async def _local_button(self, spec: LocalButtonSpec) -> None:
        button = LocalButton(
            sink=self.outbox,
            device=spec.device_id,
            classifier=PressClassifier(
                long_press_s=spec.long_press_s,
                test_presses=spec.test_presses,
                window_s=spec.press_window_s,
            ),
            health=self.health,
        )
        await button.run(lines_from(spec.source))
        self.health.update(
            spec.device_id, reachable=False, problem=f"button input {spec.source} ended"
        )
        log.warning("local button %s: input ended", spec.name)

    async def _ble_forever(self, devices: list[BleDeviceSpec]) -> None:
        try:
            from device_agent.ble import run_devices
            from device_agent.ble.adapter import AdapterUnavailable, check_adapter
        except ImportError as exc:
            problem = "BLE support is not installed (pip install 'eldercare[agent]')"
            log.error("%s: %s; BLE devices are not read", problem, exc)
            await self._adapter_changed(ok=False, problem=problem)
            return
        while True:
            try:
                await check_adapter(self.ble_backend)
            except AdapterUnavailable as exc:
                await self._adapter_changed(ok=False, problem=str(exc))
                await asyncio.sleep(self.adapter_retry_s)
                continue
            await self._adapter_changed(ok=True)
            try:
                await run_devices(
                    devices,
                    self.outbox,
                    health=self.health,
                    backend=self.ble_backend,
                    state_path=self.config.ble_state_path,
                    timing=self.ble_timing,
                )
                return
            except Exception as exc:  # a driver crash must not take the panic button down
                log.exception(
                    "BLE devices stopped (%s); restarting in %.0f s",
                    type(exc).__name__,
                    BLE_RESTART_S,
                )
                await self._adapter_changed(ok=False, problem=f"BLE stopped: {type(exc).__name__}")
            await asyncio.sleep(BLE_RESTART_S)

    async def _adapter_changed(self, *, ok: bool, problem: str | None = None) -> None:
        """Record the adapter's state; a change is also sent as the hub's device status."""
        health = self.health
        if ok == health.adapter_ok and (ok or problem == health.adapter_problem):
            return
        health.adapter(ok=ok, problem=problem)
        if ok:
            log.info("Bluetooth adapter available again")
        else:
            log.error("Bluetooth: %s; BLE devices cannot be read until this is fixed", problem)
        status = DeviceStatus.CONNECTED if ok else DeviceStatus.ADAPTER_MISSING
        detail = "Bluetooth adapter available" if ok else health.adapter_problem
        await self.outbox.emit(
            DeviceStatusEvent(
                id=uuid4(),
                device=self.config.hub_device,
                occurred_at=utc_now(),
                payload=DeviceStatusPayload(status=status, detail=detail),
            )
        )


async def run_agent(
    config: AgentConfig,
    *,
    ble_backend: BleBackend | None = None,
    ble_timing: Timing | None = None,
) -> None:
    await Agent(config, ble_backend=ble_backend, ble_timing=ble_timing).run()
