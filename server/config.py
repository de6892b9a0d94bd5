"""Settings, read from ELDERCARE_* environment variables (and an optional .env file)."""

from __future__ import annotations

import re
from functools import lru_cache
from pathlib import Path
from typing import Literal
from urllib.parse import urlsplit

from pydantic import Field, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

DEFAULT_SECRET = "dev-insecure-secret-change-me"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="ELDERCARE_", env_file=".env", extra="ignore")

    env: Literal["development", "test", "production"] = "development"
    database_url: str = "sqlite:///var/eldercare.db"
    secret_key: str = DEFAULT_SECRET
    base_url: str = "http://127.0.0.1:8000"
    host: str = "127.0.0.1"
    port: int = 8000
    workers: int = 1

    default_locale: Literal["th", "en"] = "th"
    display_timezone: str = "Asia/Bangkok"

    # Browser sessions and API tokens.
    session_cookie: str = "eldercare_session"
    cookie_secure: bool = False
    token_ttl_hours: int = Field(default=12, ge=1, le=24 * 30)

    # Failed logins: after `login_free_failures` in `login_window_minutes`, each further
    # attempt for that username waits twice as long as the last (capped).
    login_free_failures: int = 5
    # Failures from one address across all usernames before that address slows down.
    login_free_failures_per_address: int = 20
    login_window_minutes: int = 15
    login_max_delay_seconds: int = 300

    # Largest request body accepted anywhere (uploads have their own limit).
    max_body_bytes: int = 1_048_576

    data_dir: Path = Path("var")
    # The municipality's name as printed on public reports (else a generic heading).
    municipality: str = ""
    voice_dir: Path | None = None  # voice notes' audio; default data_dir / "voice"
    voice_max_bytes: int = Field(default=20 * 1024 * 1024, ge=1024)
    voice_in_database: bool = False  # keep audio in the database instead of files

    # The monitoring centre's phone, offered by the care app beside 1669 on a RED reading.
    centre_phone: str | None = Field(default=None, max_length=32)

    # The care manager's caseload map. A tile URL template (`https://tiles.example.org/{z}/{x}/{y}.png`)
    # draws a street map under the markers, and the page's CSP then lets images come from
    # its origin; empty (the default) draws markers on a plain background, no tiles fetched.
    map_tile_url: str = Field(default="", max_length=500)
    # Credit the tile provider asks for (OpenStreetMap's licence does), shown on the map.
    map_tile_attribution: str = Field(default="", max_length=300)

    # Phone and SMS through Twilio. Without all three, messages are recorded, not sent.
    twilio_account_sid: str | None = None
    twilio_auth_token: str | None = None
    twilio_from: str | None = None
    # Where Twilio (and phones opening a responder link) reach this server from outside:
    # webhook signatures are checked against this URL, not the one the request arrived at.
    public_url: str | None = None
    # Another base for Twilio's REST API (a local fake in tests and rehearsals).
    twilio_api_base: str | None = None
    # LINE Messaging API; `line_api_base` likewise points it elsewhere.
    line_channel_access_token: str | None = None
    line_channel_secret: str | None = None
    line_api_base: str | None = None

    @property
    def twilio_configured(self) -> bool:
        return bool(self.twilio_account_sid and self.twilio_auth_token and self.twilio_from)

    @property
    def phone_escalation(self) -> bool:
        """Calls and SMS go out (Twilio and a public URL for its webhooks are set)."""
        return self.twilio_configured and bool(self.public_url)

    @property
    def line_configured(self) -> bool:
        return bool(self.line_channel_access_token and self.line_channel_secret)

    @property
    def webhook_base(self) -> str:
        return (self.public_url or self.base_url).rstrip("/")

    @property
    def map_tile_origin(self) -> str | None:
        """Where tiles come from (scheme, host and port), for the CSP; None without tiles."""
        if not self.map_tile_url:
            return None
        parts = urlsplit(self.map_tile_url)
        return f"{parts.scheme}://{parts.netloc}"

    @field_validator("map_tile_url")
    @classmethod
    def _tile_url_shape(cls, value: str) -> str:
        value = value.strip()
        if not value:
            return ""
        parts = urlsplit(value)
        # The origin goes into the CSP as it is: no wildcard subdomains ({s}), no quotes or
        # spaces that would end the directive.
        if (
            parts.scheme not in ("http", "https")
            or not parts.netloc
            or not re.fullmatch(r"[A-Za-z0-9.\-]+(:[0-9]{1,5})?", parts.netloc)
            or not all(f"{{{p}}}" in value for p in ("z", "x", "y"))
        ):
            raise ValueError(
                "ELDERCARE_MAP_TILE_URL must be an http(s) URL with {z}, {x} and {y} and a "
                "plain host (no {s} subdomains), e.g. https://tile.openstreetmap.org/{z}/{x}/{y}.png"
            )
        return value

    @model_validator(mode="after")
    def _refuse_unsafe_production(self) -> Settings:
        if self.env == "production":
            if self.secret_key == DEFAULT_SECRET or len(self.secret_key) < 32:
                raise ValueError(
                    "ELDERCARE_SECRET_KEY must be set to a random value of at least 32 "
                    "characters in production (e.g. `python -c 'import secrets; "
                    "print(secrets.token_urlsafe(48))'`)"
                )
            if not self.cookie_secure:
                raise ValueError("ELDERCARE_COOKIE_SECURE must be true in production (HTTPS)")
        return self

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")


@lru_cache
def get_settings() -> Settings:
    return Settings()
