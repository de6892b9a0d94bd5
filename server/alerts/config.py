"""Alert settings (ELDERCARE_ALERTS_*), kept apart from the shared settings."""

from __future__ import annotations

from functools import lru_cache

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from server.alerts.policy import Policy, load_policy


class AlertSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="ELDERCARE_ALERTS_", extra="ignore")

    policy_file: str | None = None
    # The scheduler sleeps until the next timer is due and is woken when one is written;
    # this is the longest it sleeps without news (a timer written by another process on
    # SQLite, where there is no NOTIFY, is found within this).
    tick_seconds: float = Field(default=1.0, gt=0, le=60)
    scheduler: bool = True
    # Timers claimed per transaction (a backlog is worked through batch by batch at once).
    batch: int = Field(default=200, ge=1, le=10_000)

    @property
    def policy(self) -> Policy:
        return load_policy(self.policy_file)


@lru_cache
def alert_settings() -> AlertSettings:
    return AlertSettings()
