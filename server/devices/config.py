"""Ingest and supervision settings (ELDERCARE_DEVICES_*): limits per hub, check-in period."""

from __future__ import annotations

from typing import Literal

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

import triage


class DevicesSettings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="ELDERCARE_DEVICES_", env_file=".env", extra="ignore"
    )

    # Token bucket per hub: sustained events per second and the burst a reconnecting hub may
    # send at once (a day offline is ~1,500 heartbeats and readings). Panic and fall events
    # are never held back by it.
    rate_per_second: float = Field(default=50.0, gt=0)
    burst: int = Field(default=5000, ge=1)

    # A hub is missed after `missed_checkins` periods of `heartbeat_seconds` without a word.
    heartbeat_seconds: float = Field(default=60.0, gt=0)
    missed_checkins: int = Field(default=3, ge=1)
    supervision_interval_seconds: float = Field(default=30.0, gt=0)

    # At or below this a peripheral's battery raises one WHITE alert; it clears once the
    # level is back above threshold + margin (so a level wobbling at 20 % raises one alert).
    low_battery_percent: int = Field(
        default=triage.RULE_SET.events.low_battery_percent, ge=0, le=100
    )
    battery_recovered_margin: int = Field(default=10, ge=0, le=100)

    # An open WebSocket re-checks its token this often, so a revoked hub is cut off.
    token_recheck_seconds: float = Field(default=30.0, gt=0)
    # The registry's devices.last_seen_at / battery are refreshed at most this often per hub.
    registry_sync_seconds: float = Field(default=60.0, ge=0)

    # Database writers that group many hubs' messages into one transaction each (readings
    # and the inline projector share them; emergencies have their own). One by default on
    # both databases: every further writer is another thread a press's store and console
    # read wait behind for the interpreter. PostgreSQL under 1,000 readings/s, press to
    # console p50 / p99 (bench/console_latency.py): three writers 30 / 65 ms, two 26 / 53 ms,
    # one 19 / 33 ms; batched ingest (bench/ingest.py) 17,920 / 17,675 / 14,736 events/s.
    writers: int = Field(default=1, ge=1, le=32)
    max_group_events: int = Field(default=2000, ge=1)

    # Readings become triaged observations in the server process ("inline"), or only in
    # `eldercare worker` processes ("worker"): on PostgreSQL with heavy reading traffic that
    # keeps triage work off the interpreter that stores panics and serves consoles.
    readings: Literal["inline", "worker"] = "inline"

    # How long the raw device record (`agent_events`: readings as sent, panics, battery and
    # device changes) is kept; `eldercare devices prune` deletes what is older. Observations
    # and alerts made from those events are the health record and are not touched.
    event_retention_days: int = Field(default=400, ge=30)

    @property
    def offline_after_seconds(self) -> float:
        return self.heartbeat_seconds * self.missed_checkins
