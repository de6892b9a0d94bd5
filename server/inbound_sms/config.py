"""What the webhook needs of Twilio: the auth token that signs requests, and the public URL."""

from __future__ import annotations

from pydantic_settings import BaseSettings, SettingsConfigDict


class InboundSmsSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="ELDERCARE_", env_file=".env", extra="ignore")

    # Signs every webhook request (X-Twilio-Signature). Unset: every request is refused.
    twilio_auth_token: str | None = None
    # The base URL Twilio calls (e.g. https://care.example.go.th): the signature covers the
    # full URL as Twilio sees it, which behind a reverse proxy is not the one uvicorn sees.
    public_url: str | None = None
