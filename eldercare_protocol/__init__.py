"""The wire contract between a home hub (agent) and the server.

Both sides import it, and ``triage`` takes its vocabularies (measurement codes, device
statuses, event kinds) from it, so it holds pydantic models and the standard library only:
no I/O, nothing of the agent or the server. The agent makes every event's UUID (the idempotency key) and the server acks an
event only after committing it, so the agent can delete exactly what was acked.

Agent → server: ``{"type": "events", "events": [Event, ...]}``
Server → agent: ``{"type": "ack", "ids": [...]}`` and ``{"type": "error", ...}`` frames.

Downlink (server → agent, WebSocket only): ``{"type": "downlink", "id": ..., "kind": ...}``
asks the hub to do something in the home, e.g. ``kind: "say"`` plays a shipped audio prompt
("help is coming") through its speaker. The hub answers each with
``{"type": "downlink_ack", "id": ..., "outcome": ...}`` (played, no speaker, or not
understood); the server sends it again on the next connection until it is acknowledged, so
the hub may see one twice and plays a repeated id once. A downlink is not an answer to an
events message and never takes an ack's place in their order. A hub ignores (and logs) a
``type`` or a downlink ``kind`` it does not know, acknowledging the latter as unsupported.

Order on the WebSocket: the server answers each events message, in the order received, with
an error frame for each bad event in it (``index`` in that message, ``event_id`` if readable)
and then exactly one ack frame (its ``ids`` may be empty), also after a message-level error
such as ``too_large``. The agent pairs acks with its messages by that order. Over HTTP
(``POST``, same body) the response is one ack whose ``errors`` list carries the error frames.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Annotated, Any, Literal
from uuid import UUID

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, TypeAdapter, ValidationError

PROTOCOL_VERSION = 1
WS_PATH = "/api/v1/agent/ws"
HTTP_EVENTS_PATH = "/api/v1/agent/events"

# Limits both sides agree on; the server enforces them and says which one was hit.
MAX_EVENTS_PER_BATCH = 500
MAX_MESSAGE_BYTES = 1_048_576
MAX_RAW_HEX_CHARS = 1024


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class EventKind(StrEnum):
    PANIC = "panic"
    FALL = "fall"
    VITALS = "vitals"
    HEARTBEAT = "heartbeat"
    BATTERY = "battery"
    DEVICE_STATUS = "device_status"


class MeasurementCode(StrEnum):
    """What a number measures. One name across agent, server, triage and UI."""

    SYSTOLIC = "systolic"
    DIASTOLIC = "diastolic"
    MEAN_ARTERIAL_PRESSURE = "mean_arterial_pressure"
    PULSE = "pulse"
    SPO2 = "spo2"
    GLUCOSE = "glucose"
    TEMPERATURE = "temperature"
    RESPIRATION_RATE = "respiration_rate"
    PULSE_AMPLITUDE_INDEX = "pulse_amplitude_index"


class Measurement(_Model):
    code: MeasurementCode
    value: float
    # UCUM-style unit: "mm[Hg]", "kPa", "/min", "%", "mg/dL", "mmol/L", "Cel".
    unit: str = Field(min_length=1, max_length=16)


class PressType(StrEnum):
    SINGLE = "single"
    DOUBLE = "double"
    TRIPLE = "triple"
    LONG = "long"
    LONG_DOUBLE = "long_double"
    LONG_TRIPLE = "long_triple"
    HOLD = "hold"


class PanicPayload(_Model):
    # "sms": a panic that arrived as a text message (a GSM pendant, or a hub's cellular modem).
    source: Literal["bthome", "itag", "local", "simulated", "sms"]
    press: PressType = PressType.LONG
    # A test press runs the whole emergency path and is shown as a test everywhere.
    test: bool = False


class FallPayload(_Model):
    source: str = Field(min_length=1, max_length=64)
    confidence: float | None = Field(default=None, ge=0, le=1)


class VitalsPayload(_Model):
    measurements: list[Measurement] = Field(min_length=1, max_length=16)
    # The device's own clock, if it reported one; the hub's receive time is the event's
    # occurred_at. A device clock that is unset or far off is flagged, not trusted.
    device_time: datetime | None = None
    device_clock_suspect: bool = False
    characteristic: str | None = Field(default=None, max_length=64)
    raw_hex: str | None = Field(default=None, max_length=MAX_RAW_HEX_CHARS, pattern=r"^[0-9a-f]*$")
    # Decoded status flags etc. (e.g. {"irregular_pulse": true}); small, JSON-safe.
    flags: dict[str, bool | int | str] = Field(default_factory=dict)
    sequence_number: int | None = Field(default=None, ge=0)


class DeviceHealth(_Model):
    device: str = Field(min_length=1, max_length=64)
    reachable: bool
    battery: int | None = Field(default=None, ge=0, le=100)
    last_seen: AwareDatetime | None = None
    problem: str | None = Field(default=None, max_length=200)


class HeartbeatPayload(_Model):
    # A heartbeat is the hub's state report, not a record: fields a newer hub adds are
    # dropped here instead of refusing the beat, so hubs may be upgraded before servers
    # (an older server refused them, and a hub upgraded first looked silent).
    model_config = ConfigDict(extra="ignore", frozen=True)

    agent_version: str = Field(max_length=32)
    uptime_s: float = Field(ge=0)
    outbox_depth: int = Field(ge=0)
    adapter_ok: bool = True
    # Whether the hub can play a spoken prompt (a player such as aplay/paplay and an audio
    # device); None from a hub that does not say.
    speaker_ok: bool | None = None
    devices: list[DeviceHealth] = Field(default_factory=list, max_length=32)
    # The hub's own disk: None when the outbox writes, else what is wrong ("disk full").
    # Events are then kept in memory and still sent; the server raises a device alert.
    storage_problem: str | None = Field(default=None, max_length=200)


class BatteryPayload(_Model):
    level: int = Field(ge=0, le=100)


class DeviceStatus(StrEnum):
    CONNECTED = "connected"
    UNREACHABLE = "unreachable"
    PAIRING_REQUIRED = "pairing_required"
    ADAPTER_MISSING = "adapter_missing"
    ERROR = "error"


class DeviceStatusPayload(_Model):
    status: DeviceStatus
    detail: str | None = Field(default=None, max_length=500)


class _EventBase(_Model):
    id: UUID
    # The peripheral that produced it (BLE address or a name such as "hub").
    device: str = Field(min_length=1, max_length=64)
    occurred_at: AwareDatetime


class PanicEvent(_EventBase):
    kind: Literal[EventKind.PANIC] = EventKind.PANIC
    payload: PanicPayload


class FallEvent(_EventBase):
    kind: Literal[EventKind.FALL] = EventKind.FALL
    payload: FallPayload


class VitalsEvent(_EventBase):
    kind: Literal[EventKind.VITALS] = EventKind.VITALS
    payload: VitalsPayload


class HeartbeatEvent(_EventBase):
    kind: Literal[EventKind.HEARTBEAT] = EventKind.HEARTBEAT
    payload: HeartbeatPayload


class BatteryEvent(_EventBase):
    kind: Literal[EventKind.BATTERY] = EventKind.BATTERY
    payload: BatteryPayload


class DeviceStatusEvent(_EventBase):
    kind: Literal[EventKind.DEVICE_STATUS] = EventKind.DEVICE_STATUS
    payload: DeviceStatusPayload


Event = Annotated[
    PanicEvent | FallEvent | VitalsEvent | HeartbeatEvent | BatteryEvent | DeviceStatusEvent,
    Field(discriminator="kind"),
]
EVENT_ADAPTER: TypeAdapter[Event] = TypeAdapter(Event)


class EventsMessage(_Model):
    type: Literal["events"] = "events"
    events: list[Event] = Field(max_length=MAX_EVENTS_PER_BATCH)


class ErrorCode(StrEnum):
    MALFORMED_JSON = "malformed_json"
    INVALID_MESSAGE = "invalid_message"
    INVALID_EVENT = "invalid_event"
    TOO_LARGE = "too_large"
    TOO_MANY_EVENTS = "too_many_events"
    RATE_LIMITED = "rate_limited"
    UNAUTHORIZED = "unauthorized"
    FORBIDDEN_DEVICE = "forbidden_device"


class ErrorMessage(_Model):
    type: Literal["error"] = "error"
    code: ErrorCode
    message: str
    # For an event-level error: its position in the batch and, if readable, its id.
    index: int | None = None
    event_id: str | None = None
    # For rate_limited: seconds until the hub's budget allows the refused events again.
    retry_after: float | None = Field(default=None, ge=0)


class AckMessage(_Model):
    type: Literal["ack"] = "ack"
    ids: list[UUID]
    # The HTTP batch endpoint answers with one AckMessage, so it carries the per-event errors
    # a WebSocket sends as separate error frames. Empty on the WebSocket.
    errors: list[ErrorMessage] = Field(default_factory=list)


class DownlinkKind(StrEnum):
    SAY = "say"  # play a shipped audio prompt


class Prompt(StrEnum):
    """The audio prompts a hub ships (device_agent/prompts/<name>.wav)."""

    HELP_COMING = "help_coming"  # the centre has the alert: help is coming
    RESPONDER_COMING = "responder_coming"  # a responder is on the way


class SayDownlink(_Model):
    type: Literal["downlink"] = "downlink"
    id: UUID
    kind: Literal[DownlinkKind.SAY] = DownlinkKind.SAY
    prompt: Prompt
    # The alert it is about (the server's timeline), opaque to the hub.
    alert_id: UUID | None = None


Downlink = SayDownlink
DOWNLINK_ADAPTER: TypeAdapter[Downlink] = TypeAdapter(Downlink)


class DownlinkOutcome(StrEnum):
    PLAYED = "played"
    NO_SPEAKER = "no_speaker"  # understood, but the hub has nothing to play it through
    FAILED = "failed"  # the player ran and failed
    UNSUPPORTED = "unsupported"  # a kind (or prompt) this hub does not know


class DownlinkAck(_Model):
    type: Literal["downlink_ack"] = "downlink_ack"
    id: UUID
    outcome: DownlinkOutcome


class EventProblem(_Model):
    index: int
    event_id: str | None
    message: str


def parse_events_leniently(events: list[Any]) -> tuple[list[Event], list[EventProblem]]:
    """Validate each event on its own: one bad event never costs the good ones their place."""
    good: list[Event] = []
    problems: list[EventProblem] = []
    for index, raw in enumerate(events):
        try:
            good.append(EVENT_ADAPTER.validate_python(raw))
        except ValidationError as exc:
            event_id = raw.get("id") if isinstance(raw, dict) else None
            first = exc.errors()[0]
            where = ".".join(str(p) for p in first["loc"])
            problems.append(
                EventProblem(
                    index=index,
                    event_id=str(event_id)[:64] if event_id is not None else None,
                    message=f"{where}: {first['msg']}" if where else first["msg"],
                )
            )
    return good, problems
