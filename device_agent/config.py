"""``agent.toml`` → typed configuration, with errors that name the bad key.

Example (``docs/hub.md`` explains every key)::

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
    options = { test_press = "triple" }

    [[devices]]
    name = "wired-button"
    kind = "local_button"
    source = "stdin"          # or a FIFO/line file a GPIO daemon writes "down"/"up" to

    [uplink]                  # optional tuning
    ws_failures_before_http = 3
    panic_ack_deadline_s = 1.5

    [cellular]                # optional: a modem for SMS when no network path works
    modem = "/dev/ttyUSB2"
    centre_number = "+6621234567"

    [simulate]
    ble = false               # true: the devices are simulated BLE peripherals, no radio

A ``[[devices]]`` entry is a ``BleDeviceSpec`` (what the BLE drivers run) or a
``LocalButtonSpec``, told apart by ``kind``: the configuration and the drivers share one
definition of a device.
"""

from __future__ import annotations

import re
import tomllib
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any, Literal, Self
from urllib.parse import urlsplit, urlunsplit

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from eldercare_protocol import HTTP_EVENTS_PATH, MAX_EVENTS_PER_BATCH, WS_PATH


class ConfigError(ValueError):
    """The configuration is unusable; the message names the file and the key."""


class DeviceKind(StrEnum):
    BLOOD_PRESSURE = "bp"
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


class BleDeviceSpec(_Strict):
    """One Bluetooth peripheral: a ``[[devices]]`` entry, and what its driver is given."""

    name: str = Field(min_length=1, max_length=64)
    kind: Literal[
        DeviceKind.BLOOD_PRESSURE,
        DeviceKind.OXIMETER,
        DeviceKind.GLUCOSE,
        DeviceKind.BTHOME_BUTTON,
        DeviceKind.ITAG_BUTTON,
    ]
    address: str
    # BTHome encryption key (32 hex characters), if the button encrypts its adverts.
    bind_key: str | None = Field(default=None, pattern=r"^[0-9a-fA-F]{32}$")
    # Force a driver by its registry name instead of the kind's default.
    driver: str | None = Field(default=None, min_length=1, max_length=64)
    # Driver-specific settings (e.g. the BTHome test pattern); small and JSON-safe.
    options: dict[str, str | int | float | bool] = Field(default_factory=dict, max_length=16)

    @model_validator(mode="before")
    @classmethod
    def _needs_address(cls, data: Any) -> Any:
        if isinstance(data, dict) and "address" not in data:
            raise ValueError(f"a {data.get('kind')} device needs 'address'")
        return data

    @field_validator("address")
    @classmethod
    def _address_shape(cls, value: str) -> str:
        if not _ADDRESS.match(value):
            raise ValueError("must be a BLE address like AA:BB:CC:DD:EE:FF")
        return value.upper()

    @model_validator(mode="after")
    def _key_fits_kind(self) -> Self:
        if self.bind_key is not None and self.kind != DeviceKind.BTHOME_BUTTON:
            raise ValueError("'bind_key' is only for bthome_button devices")
        return self

    @property
    def device_id(self) -> str:
        """What events and heartbeats carry in ``device``: the BLE address."""
        return self.address


class LocalButtonSpec(_Strict):
    """A button wired to the hub (GPIO daemon, serial line, or stdin for testing)."""

    name: str = Field(min_length=1, max_length=64)
    kind: Literal[DeviceKind.LOCAL_BUTTON]
    source: str = Field(min_length=1)
    long_press_s: float = Field(default=2.0, gt=0, le=30)
    test_presses: int = Field(default=3, ge=2, le=9)
    press_window_s: float = Field(default=1.5, gt=0, le=10)

    @model_validator(mode="before")
    @classmethod
    def _needs_source(cls, data: Any) -> Any:
        if isinstance(data, dict):
            if "address" in data:
                raise ValueError("a local_button has no 'address'")
            if "source" not in data:
                raise ValueError("a local_button needs 'source' (\"stdin\" or a file path)")
        return data

    @property
    def device_id(self) -> str:
        """What its events carry in ``device``: its configured name."""
        return self.name


DeviceSpec = Annotated[BleDeviceSpec | LocalButtonSpec, Field(discriminator="kind")]


class UplinkConfig(_Strict):
    batch_size: int = Field(default=MAX_EVENTS_PER_BATCH, ge=1, le=MAX_EVENTS_PER_BATCH)
    max_frames_in_flight: int = Field(default=2, ge=1, le=64)
    ack_timeout_s: float = Field(default=30.0, gt=0)
    backoff_base_s: float = Field(default=0.5, gt=0)
    backoff_cap_s: float = Field(default=30.0, gt=0)
    healthy_after_s: float = Field(default=10.0, gt=0)
    ws_failures_before_http: int = Field(default=3, ge=1)
    ws_retry_interval_s: float = Field(default=60.0, gt=0)
    open_timeout_s: float = Field(default=10.0, gt=0)
    http_timeout_s: float = Field(default=30.0, gt=0)
    auth_retry_s: float = Field(default=900.0, gt=0)
    # A panic or fall not acked this soon: the WebSocket is aborted (no close handshake) and
    # reopened, and the event also goes over HTTP on a fresh connection, every
    # `panic_retry_s` until one path acks it. Separate from `ack_timeout_s`, which is for
    # readings and may be long.
    panic_ack_deadline_s: float = Field(default=1.5, gt=0, le=30)
    panic_retry_s: float = Field(default=1.0, gt=0, le=30)
    # Idle keepalive: a ping every `ping_interval_s`, the link given up `ping_timeout_s`
    # after an unanswered one (so a silent link is noticed within their sum when idle; a
    # pending panic has its own deadline above).
    ping_interval_s: float = Field(default=30.0, gt=0)
    ping_timeout_s: float = Field(default=10.0, gt=0)
    # The most a clean close may wait for the server's answer when the agent stops.
    close_timeout_s: float = Field(default=2.0, gt=0)


class CellularConfig(_Strict):
    """A cellular modem on a serial port: the last path for a panic when no network works.

    When a panic or fall has found no path to the server for ``sms_after_s``, it is sent
    as an SMS (AT commands, text mode) to ``centre_number``, the number the centre receives
    texts on. The hub's own SIM number must be registered on the server against this hub.
    """

    modem: Path
    centre_number: str = Field(pattern=r"^\+[1-9][0-9]{6,14}$")
    baudrate: int = Field(default=115200, ge=1200)
    sms_after_s: float = Field(default=5.0, gt=0, le=600)


class SimulateConfig(_Strict):
    hubs: int = Field(default=1, ge=1, le=10_000)
    rate: float = Field(default=1.0, ge=0)
    panic_every_s: float = Field(default=0.0, ge=0)
    abnormal_fraction: float = Field(default=0.05, ge=0, le=1)
    state_dir: Path = Path("var/simulate")
    # Run the hub against simulated BLE peripherals (the demo home) instead of a radio.
    ble: bool = False


class AgentConfig(_Strict):
    server_url: str
    token: str | None = Field(default=None, min_length=8)
    token_file: Path | None = None
    outbox_path: Path = Path("var/agent/outbox.sqlite3")
    heartbeat_interval_s: float = Field(default=60.0, ge=1, le=3600)
    hub_device: str = Field(default="hub", min_length=1, max_length=64)
    log_level: str = Field(default="INFO", pattern=r"^(DEBUG|INFO|WARNING|ERROR)$")
    devices: list[DeviceSpec] = Field(default_factory=list, max_length=32)
    uplink: UplinkConfig = Field(default_factory=UplinkConfig)
    cellular: CellularConfig | None = None
    # How the hub says prompts aloud: "auto" (paplay, else aplay with a sound card),
    # "none", or "record:PATH" (write what it would play to PATH: the simulated hub).
    speaker: str = Field(default="auto", pattern=r"^(auto|none|record:.+)$")
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

    @property
    def state_dir(self) -> Path:
        """Where the hub keeps what must survive a restart: the outbox and the BLE state."""
        return self.outbox_path.parent

    @property
    def ble_state_path(self) -> Path:
        """The BLE drivers' small state file (last glucose record per meter)."""
        return self.state_dir / "ble-state.sqlite3"

    @property
    def ble_devices(self) -> list[BleDeviceSpec]:
        return [d for d in self.devices if isinstance(d, BleDeviceSpec)]

    @property
    def local_buttons(self) -> list[LocalButtonSpec]:
        return [d for d in self.devices if isinstance(d, LocalButtonSpec)]

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


_KIND_VALUES = frozenset(kind.value for kind in DeviceKind)


def _describe(exc: ValidationError, source: str) -> str:
    lines = []
    kinds = ", ".join(kind.value for kind in DeviceKind)
    for error in exc.errors():
        where = ""
        after_index = False
        for part in error["loc"]:
            if isinstance(part, int):
                where += f"[{part}]"
            elif after_index and part in _KIND_VALUES:
                pass  # the union member's tag (the device kind), not a key the user wrote
            else:
                where += f".{part}" if where else str(part)
            after_index = isinstance(part, int)
        message = error["msg"].removeprefix("Value error, ")
        if error["type"] == "extra_forbidden":
            message = "unknown key"
        elif error["type"] in {"union_tag_invalid", "union_tag_not_found"}:
            where += ".kind"
            message = f"must be one of {kinds}"
        lines.append(f"{source}: {where or '(top level)'}: {message}")
    return "\n".join(lines)
