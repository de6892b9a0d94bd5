"""On-call settings (ELDERCARE_ONCALL_*)."""

from __future__ import annotations

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class OncallSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="ELDERCARE_ONCALL_", extra="ignore")

    # How often chains and the outbox are looked at: a call goes out at most about this
    # long after its step is due.
    tick_seconds: float = Field(default=0.25, gt=0, le=30)
    worker: bool = True
    batch: int = Field(default=100, ge=1, le=10_000)
