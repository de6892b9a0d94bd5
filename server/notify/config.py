"""Sender-loop settings (ELDERCARE_NOTIFY_*); provider credentials are in server.config."""

from __future__ import annotations

from functools import lru_cache

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class NotifySettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="ELDERCARE_NOTIFY_", extra="ignore")

    # Tries for a message that fails with a 5xx or a timeout (a 4xx is never retried).
    max_attempts: int = Field(default=5, ge=1, le=20)
    # Backoff: first retry after this, doubling, capped.
    backoff_seconds: float = Field(default=1.0, gt=0, le=60)
    backoff_max_seconds: float = Field(default=60.0, gt=0, le=3600)
    # One provider request may take this long before it counts as a timeout.
    request_timeout_seconds: float = Field(default=10.0, gt=0, le=120)
    # Messages claimed per pass, and how many go out at once (requests to Twilio wait on the
    # network far more than on this process: 32 at once sends a backlog of 2,000 several
    # times faster than 8 did).
    batch: int = Field(default=100, ge=1, le=5000)
    concurrency: int = Field(default=32, ge=1, le=64)
    # Per number: at most this many messages (SMS and calls) in any minute; more wait.
    per_number_per_minute: int = Field(default=6, ge=1, le=100_000)


@lru_cache
def notify_settings() -> NotifySettings:
    return NotifySettings()
