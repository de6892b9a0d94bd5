"""Alert settings (ELDERCARE_ALERTS_*), kept apart from the shared settings."""

from __future__ import annotations

from functools import lru_cache

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from server.alerts.policy import Policy, load_policy


class AlertSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="ELDERCARE_ALERTS_", extra="ignore")

    policy_file: str | None = None
    # How often the scheduler looks for due timers; lateness is at most about this.
    tick_seconds: float = Field(default=1.0, gt=0, le=60)
    scheduler: bool = True
    # Timers claimed per tick (the rest wait for the next tick).
    batch: int = Field(default=200, ge=1, le=10_000)

    @property
    def policy(self) -> Policy:
        return load_policy(self.policy_file)


@lru_cache
def alert_settings() -> AlertSettings:
    return AlertSettings()
