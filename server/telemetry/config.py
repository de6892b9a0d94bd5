"""Logging settings (ELDERCARE_LOG_*)."""

from __future__ import annotations

from typing import Literal

from pydantic_settings import BaseSettings, SettingsConfigDict


class LogSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="ELDERCARE_LOG_", env_file=".env", extra="ignore")

    format: Literal["text", "json"] = "text"
    level: str = "INFO"
