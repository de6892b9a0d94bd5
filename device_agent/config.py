"""``agent.toml`` → typed configuration, with errors that name the bad key.

Example::

    server_url = "https://care.example.go.th"
    token_file = "/etc/eldercare/hub-token"      # or: token = "..."
    outbox_path = "/var/lib/eldercare-agent/outbox.sqlite3"
    heartbeat_interval_s = 60

    [[devices]]
    name = "bp-cuff"
    kind = "bp"
    address = "A4:C1:38:00:11:22"

    [[devices]]
    name = "panic-button"
    kind = "bthome_button"
    address = "A4:C1:38:33:44:55"
    bind_key = "231d39c1d7cc1ab1aee224cd096db932"

    [[devices]]
    name = "wired-button"
    kind = "local_button"
    source = "stdin"          # or a FIFO/line file a GPIO daemon writes "down"/"up" to

    [uplink]                  # optional tuning
    ws_failures_before_http = 3

    [simulate]
    hubs = 1
    rate = 1.0
"""

from __future__ import annotations

import re
import tomllib
from enum import StrEnum
from pathlib import Path
from typing import Any, Self
from urllib.parse import urlsplit, urlunsplit

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from device_agent.protocol import HTTP_EVENTS_PATH, MAX_EVENTS_PER_BATCH, WS_PATH


class ConfigError(ValueError):
    """The configuration is unusable; the message names the file and the key."""


class DeviceKind(StrEnum):
    BP = "bp"
    OXIMETER = "oximeter"
    GLUCOSE = "glucose"
    BTHOME_BUTTON = "bthome_button"
    ITAG_BUTTON = "itag_button"
    LOCAL_BUTTON = "local_button"


BLE_KINDS = frozenset(DeviceKind) - {DeviceKind.LOCAL_BUTTON}

# A MAC address (Linux) or a CoreBluetooth UUID (macOS).
_ADDRESS = re.compile(
    r"^([0-9A-Fa-f]{2}:){5}[0-9A-Fa-f]{2}$|^[0-9A-Fa-f]{8}-([0-9A-Fa-f]{4}-){3}[0-9A-Fa-f]{12}$"
)


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class DeviceConfig(_Strict):
    name: str = Field(min_length=1, max_length=64)
    kind: DeviceKind
    address: str | None = None
    bind_key: str | None = Field(default=None, pattern=r"^[0-9a-fA-F]{32}$")
    driver: str | None = Field(default=None, min_length=1, max_length=64)
    # local_button only
    source: str | None = None
    long_press_s: float = Field(default=2.0, gt=0, le=30)
    test_presses: int = Field(default=3, ge=2, le=9)
    press_window_s: float = Field(default=1.5, gt=0, le=10)

    @field_validator("address")
    @classmethod
    def _address_shape(cls, value: str | None) -> str | None:
        if value is not None and not _ADDRESS.match(value):
            raise ValueError("must be a BLE address like AA:BB:CC:DD:EE:FF")
        return value.upper() if value is not None else None

    @model_validator(mode="after")
    def _fits_kind(self) -> Self:
        if self.kind in BLE_KINDS and self.address is None:
            raise ValueError(f"a {self.kind} device needs 'address'")
        if self.bind_key is not None and self.kind != DeviceKind.BTHOME_BUTTON:
            raise ValueError("'bind_key' is only for bthome_button devices")
        if self.kind == DeviceKind.LOCAL_BUTTON:
            if self.address is not None:
                raise ValueError("a local_button has no 'address'")
            if self.source is None:
                raise ValueError("a local_button needs 'source' (\"stdin\" or a file path)")
        elif self.source is not None:
            raise ValueError("'source' is only for local_button devices")
        return self


class UplinkConfig(_Strict):
    batch_size: int = Field(default=MAX_EVENTS_PER_BATCH, ge=1, le=MAX_EVENTS_PER_BATCH)
    max_frames_in_flight: int = Field(default=4, ge=1, le=64)
    ack_timeout_s: float = Field(default=30.0, gt=0)
    backoff_base_s: float = Field(default=0.5, gt=0)
    backoff_cap_s: float = Field(default=30.0, gt=0)
    healthy_after_s: float = Field(default=10.0, gt=0)
    ws_failures_before_http: int = Field(default=3, ge=1)
    ws_retry_interval_s: float = Field(default=60.0, gt=0)
    open_timeout_s: float = Field(default=10.0, gt=0)
    http_timeout_s: float = Field(default=30.0, gt=0)
    auth_retry_s: float = Field(default=900.0, gt=0)


class SimulateConfig(_Strict):
    hubs: int = Field(default=1, ge=1, le=10_000)
    rate: float = Field(default=1.0, ge=0)
    panic_every_s: float = Field(default=0.0, ge=0)
    abnormal_fraction: float = Field(default=0.05, ge=0, le=1)
    state_dir: Path = Path("var/simulate")


class AgentConfig(_Strict):
    server_url: str
    token: str | None = Field(default=None, min_length=8)
    token_file: Path | None = None
    outbox_path: Path = Path("var/agent/outbox.sqlite3")
    heartbeat_interval_s: float = Field(default=60.0, ge=1, le=3600)
    hub_device: str = Field(default="hub", min_length=1, max_length=64)
    log_level: str = Field(default="INFO", pattern=r"^(DEBUG|INFO|WARNING|ERROR)$")
    devices: list[DeviceConfig] = Field(default_factory=list, max_length=32)
    uplink: UplinkConfig = Field(default_factory=UplinkConfig)
    simulate: SimulateConfig = Field(default_factory=SimulateConfig)

    @field_validator("server_url")
    @classmethod
    def _url_shape(cls, value: str) -> str:
        parts = urlsplit(value)
        if parts.scheme not in {"http", "https", "ws", "wss"} or not parts.netloc:
            raise ValueError("must be an http(s):// or ws(s):// URL with a host")
        return value.rstrip("/")

    @model_validator(mode="after")
    def _one_token_and_unique_names(self) -> Self:
        if (self.token is None) == (self.token_file is None):
            raise ValueError("give exactly one of 'token' or 'token_file'")
        names = [device.name for device in self.devices]
        duplicates = sorted({name for name in names if names.count(name) > 1})
        if duplicates:
            raise ValueError(f"device names must be unique: {', '.join(duplicates)}")
        return self

    def read_token(self) -> str:
        """The hub token; re-read from the file each time so a replaced token is picked up."""
        if self.token is not None:
            return self.token
        assert self.token_file is not None
        try:
            token = self.token_file.read_text(encoding="utf-8").strip()
        except OSError as exc:
            raise ConfigError(f"token_file {self.token_file}: {exc.strerror}") from exc
        if not token:
            raise ConfigError(f"token_file {self.token_file} is empty")
        return token


def endpoints(server_url: str) -> tuple[str, str]:
    """(WebSocket URL, HTTP batch URL) for a server base URL given as http(s) or ws(s)."""
    parts = urlsplit(server_url.rstrip("/"))
    secure = parts.scheme in {"https", "wss"}
    base_path = parts.path.rstrip("/")
    ws = urlunsplit(("wss" if secure else "ws", parts.netloc, base_path + WS_PATH, "", ""))
    http = urlunsplit(
        ("https" if secure else "http", parts.netloc, base_path + HTTP_EVENTS_PATH, "", "")
    )
    return ws, http


def parse_config(data: dict[str, Any], *, source: str = "agent.toml") -> AgentConfig:
    try:
        return AgentConfig.model_validate(data)
    except ValidationError as exc:
        raise ConfigError(_describe(exc, source)) from None


def load_config(path: Path | str) -> AgentConfig:
    path = Path(path)
    try:
        with path.open("rb") as handle:
            data = tomllib.load(handle)
    except FileNotFoundError:
        raise ConfigError(f"{path}: no such file") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML: {exc}") from None
    return parse_config(data, source=str(path))


def _describe(exc: ValidationError, source: str) -> str:
    lines = []
    for error in exc.errors():
        where = ""
        for part in error["loc"]:
            if isinstance(part, int):
                where += f"[{part}]"
            else:
                where += f".{part}" if where else str(part)
        message = error["msg"].removeprefix("Value error, ")
        if error["type"] == "extra_forbidden":
            message = "unknown key"
        lines.append(f"{source}: {where or '(top level)'}: {message}")
    return "\n".join(lines)
