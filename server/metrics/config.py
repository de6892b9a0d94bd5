"""Metrics and logging settings (ELDERCARE_METRICS_*, ELDERCARE_LOG_*)."""

from __future__ import annotations

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class MetricsSettings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="ELDERCARE_METRICS_", env_file=".env", extra="ignore"
    )

    # Set: /metrics and the detailed health need `Authorization: Bearer <token>`.
    # Unset: they answer callers on this machine (loopback) only.
    token: str | None = None
    # Health thresholds: past these, the part is reported degraded.
    timers_late_seconds: float = Field(default=30, gt=0)
    readings_backlog_seconds: float = Field(default=300, gt=0)
    readings_backlog_rows: int = Field(default=10_000, gt=0)
    notifier_window_minutes: int = Field(default=15, gt=0)
    notifier_min_failures: int = Field(default=3, gt=0)
