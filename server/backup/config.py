"""Backup settings (ELDERCARE_BACKUP_*), kept apart from the shared settings."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class BackupSettings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="ELDERCARE_BACKUP_", env_file=".env", extra="ignore"
    )

    # Where backups are written; default: <data_dir>/backups.
    dir: Path | None = None
    # base64 of 32 random bytes (`eldercare backup key` makes one). Unset: derived from
    # ELDERCARE_SECRET_KEY, so changing that secret makes older backups unreadable.
    key: str | None = None
    keep_count: int = Field(default=14, ge=1)
    keep_days: int = Field(default=35, ge=1)
