"""Storing hub events once and acting on the new ones, many hubs' messages per transaction.

`store_group` is plain synchronous work on a session; the caller commits and only then
acks. Everything keyed on the agent's event id, so a re-sent event is stored once and acted
on once, and an event is always filed under the sending hub's own elder.
"""

from __future__ import annotations

import contextlib
import logging
import uuid
from collections.abc import Callable, Collection, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from pydantic import TypeAdapter
from sqlalchemy.dialects import sqlite
from sqlmodel import Session, col, select

import triage
from eldercare_protocol import (
    BatteryEvent,
    ErrorCode,
    ErrorMessage,
    Event,
    EventKind,
    FallEvent,
    HeartbeatEvent,
    PanicEvent,
)
from server.common.time import BANGKOK, as_utc
from server.devices import alerting
from server.devices.config import DevicesSettings
from server.devices.models import AgentEvent, Device, HubStatus, PendingReading
from server.devices.service import HubIdentity
from server.elders.models import Elder
from server.observations.models import ObservationSource
from server.observations.service import (
    NewObservation,
    Reading,
    assess_readings,
    profile_for,
    record_observations,
)

log = logging.getLogger(__name__)

URGENT_KINDS = frozenset({EventKind.PANIC, EventKind.FALL})
ALERTING_PRIORITIES = frozenset({triage.Priority.RED, triage.Priority.YELLOW})
LAST_SEEN_RESOLUTION = timedelta(seconds=5)


@dataclass(frozen=True)
class Submission:
    """One message's valid events from one hub."""

    hub: HubIdentity
    events: Sequence[Event]
    received_at: datetime
    # False for what did not come over the hub's network link (an SMS): it says nothing
    # about whether the hub is online, and the sender may be a pendant, not a hub.
    supervise: bool = True

    @property
    def urgent(self) -> bool:
        return any(e.kind in URGENT_KINDS for e in self.events)


@dataclass
class StoreOutcome:
    acked: list[uuid.UUID] = field(default_factory=list)
    refused: list[ErrorMessage] = field(default_factory=list)
    created: int = 0


@dataclass
class _Context:
    """What one group transaction looks up once and reuses."""

    session: Session
    settings: DevicesSettings
    elders: dict[uuid.UUID, Elder | None] = field(default_factory=dict)
    peripherals: dict[uuid.UUID, dict[str, uuid.UUID]] = field(default_factory=dict)

    def elder(self, elder_id: uuid.UUID) -> Elder | None:
        if elder_id not in self.elders:
            self.preload([elder_id])
        return self.elders[elder_id]

    def device_id(self, hub: HubIdentity, name: str) -> uuid.UUID:
        """The registered peripheral a hub's device name refers to, else the hub itself."""
        assert hub.elder_id is not None
        if hub.elder_id not in self.peripherals:
            self.preload([hub.elder_id])
        names = self.peripherals[hub.elder_id]
        return names.get(name.lower(), hub.device_id)

    def preload(self, elder_ids: Collection[uuid.UUID]) -> None:
        """Elders and their devices' names in two queries, however many elders (a batch of
        readings comes from many homes; a query per home was most of its cost)."""
        wanted = list({e for e in elder_ids if e not in self.elders or e not in self.peripherals})
        if not wanted:
            return
        found = self.session.exec(select(Elder).where(col(Elder.id).in_(wanted))).all()
        self.elders.update({e: None for e in wanted} | {e.id: e for e in found})
        names: dict[uuid.UUID, dict[str, uuid.UUID]] = {e: {} for e in wanted}
        rows = self.session.exec(
            select(Device.elder_id, Device.id, Device.ble_address, Device.label).where(
                col(Device.elder_id).in_(wanted)
            )
        ).all()
        for elder_id, device_id, address, label in rows:
            for key in (address, label):
                if key and elder_id is not None:
                    names[elder_id][key.lower()] = device_id
        self.peripherals.update(names)


# On PostgreSQL a group is one statement with one JSON parameter (each message's events as
# the protocol models serialise them, under the hub that sent them): the driver parses one
# short statement, PostgreSQL unpacks the rows, and new readings are queued in the same
# statement. A multi-row VALUES list was a new, long statement to parse every time.
_PG_STORE = sa.text(
    """
    WITH stored AS (
        INSERT INTO agent_events
            (id, hub_id, elder_id, device, kind, occurred_at, received_at, payload)
        SELECT e.id, m.hub_id, m.elder_id, e.device, e.kind, e.occurred_at, m.received_at,
               e.payload
        FROM json_to_recordset(CAST(:messages AS json))
            AS m(hub_id uuid, elder_id uuid, received_at timestamptz, events json)
        CROSS JOIN LATERAL json_to_recordset(m.events)
            AS e(id uuid, device text, kind text, occurred_at timestamptz, payload json)
        ON CONFLICT (id) DO NOTHING
        RETURNING id, kind, received_at
    ), queued AS (
        INSERT INTO agent_event_backlog (event_id, queued_at)
        SELECT id, received_at FROM stored WHERE kind = 'vitals'
    )
    SELECT id FROM stored
    """
)
_EVENT_LIST: TypeAdapter[list[Event]] = TypeAdapter(list[Event])


def _store_new(session: Session, owned: Sequence[tuple[Submission, list[Event]]]) -> set[uuid.UUID]:
    """Inserts the events not stored yet and queues the new readings for the projector.

    `owned`: per message, the events it is the first in the group to carry. Returns the
    ids that were new.
    """
    dialect = session.get_bind().dialect.name
    if dialect == "postgresql":
        messages = ",".join(_message_json(sub, events) for sub, events in owned if events)
        if not messages:
            return set()
        return set(session.connection().execute(_PG_STORE, {"messages": f"[{messages}]"}).scalars())
    if dialect != "sqlite":
        raise RuntimeError(f"the event store supports SQLite and PostgreSQL, not {dialect}")
    rows = [_row(sub, event) for sub, events in owned for event in events]
    if not rows:
        return set()
    statement = (
        sqlite.insert(AgentEvent.__table__)  # type: ignore[attr-defined]
        .on_conflict_do_nothing(index_elements=["id"])
        .returning(sa.column("id", sa.Uuid()))
    )
    inserted = set(session.connection().execute(statement, rows).scalars())
    readings = [
        {"event_id": row["id"], "queued_at": row["received_at"]}
        for row in rows
        if row["id"] in inserted and row["kind"] == EventKind.VITALS.value
    ]
    if readings:
        session.connection().execute(sa.insert(PendingReading.__table__), readings)  # type: ignore[attr-defined]
    return inserted


def _message_json(sub: Submission, events: list[Event]) -> str:
    # Ids and ISO times need no escaping; the events are serialised by their own models.
    return (
        f'{{"hub_id":"{sub.hub.device_id}","elder_id":"{sub.hub.elder_id}",'
        f'"received_at":"{sub.received_at.isoformat()}",'
        f'"events":{_EVENT_LIST.dump_json(events).decode()}}}'
    )


def _row(sub: Submission, event: Event) -> dict[str, Any]:
    return {
        "id": event.id,
        "hub_id": sub.hub.device_id,
        "elder_id": sub.hub.elder_id,
        "device": event.device,
        "kind": event.kind.value,
        "occurred_at": event.occurred_at,
        "received_at": sub.received_at,
        "payload": event.payload.model_dump(mode="json"),
    }


def store_group(
    session: Session, submissions: Sequence[Submission], *, settings: DevicesSettings
) -> list[StoreOutcome]:
    """Stores every submission's events (once each) and acts on the new ones.

    Returns one outcome per submission, in order: the ids to ack (new and already stored)
    and the events refused (an id another hub already used). The caller commits.
    """
    owner: dict[uuid.UUID, int] = {}
    owned: list[tuple[Submission, list[Event]]] = []
    for index, sub in enumerate(submissions):
        if sub.hub.elder_id is None:
            raise ValueError("a hub without an elder cannot file events")
        firsts: list[Event] = []
        for event in sub.events:
            if event.id not in owner:
                owner[event.id] = index
                # A heartbeat is state, not record: it updates the hub's one status row
                # (see _supervise) and is not kept as an event (a million hubs beating once
                # a minute would be 1.4 billion rows a day).
                if not isinstance(event, HeartbeatEvent):
                    firsts.append(event)
        owned.append((sub, firsts))
    inserted = _store_new(session, owned)
    stored_by: dict[uuid.UUID, uuid.UUID] = {
        eid: submissions[owner[eid]].hub.device_id for eid in inserted
    }
    earlier = [eid for eid in owner if eid not in inserted]
    if earlier:
        stored_by.update(
            session.exec(
                select(AgentEvent.id, AgentEvent.hub_id).where(col(AgentEvent.id).in_(earlier))
            ).all()
        )

    outcomes = [StoreOutcome() for _ in submissions]
    fresh: list[tuple[Submission, Event]] = []
    for index, sub in enumerate(submissions):
        outcome = outcomes[index]
        seen: set[uuid.UUID] = set()
        for position, event in enumerate(sub.events):
            if event.id in seen:
                continue
            seen.add(event.id)
            if isinstance(event, HeartbeatEvent):
                # Nothing stored to own; a re-sent or older beat changes nothing (_supervise
                # keeps the newest by the hub's clock).
                outcome.acked.append(event.id)
                if owner[event.id] == index:
                    fresh.append((sub, event))
                continue
            if stored_by.get(event.id) != sub.hub.device_id:
                outcome.refused.append(
                    ErrorMessage(
                        code=ErrorCode.FORBIDDEN_DEVICE,
                        message="this event id belongs to another hub's event; not stored",
                        index=position,
                        event_id=str(event.id),
                    )
                )
                continue
            outcome.acked.append(event.id)
            if event.id in inserted and owner[event.id] == index:
                outcome.created += 1
                fresh.append((sub, event))

    context = _Context(session=session, settings=settings)
    # Emergencies first, then readings, then housekeeping.
    fresh.sort(key=lambda item: 0 if item[1].kind in URGENT_KINDS else 1)
    # Emergencies are acted on in this transaction; readings were queued for the projector
    # (triage and observations cost milliseconds each, storing and acking must not wait).
    with session.no_autoflush:
        for sub, event in fresh:
            if isinstance(event, PanicEvent | FallEvent):
                _emergency(context, sub.hub, event)
        _supervise(
            context,
            [sub for sub in submissions if sub.supervise],
            [(sub, event) for sub, event in fresh if sub.supervise],
        )
    return outcomes


def _emergency(context: _Context, hub: HubIdentity, event: PanicEvent | FallEvent) -> None:
    assert hub.elder_id is not None
    elder = context.elder(hub.elder_id)
    test = isinstance(event, PanicEvent) and event.payload.test
    result = triage.prioritise_event(
        kind=event.kind.value, profile=profile_for(elder) if elder else None, test=test
    )
    if result.priority is None:
        return
    alert_id = alerting.raise_alert(
        context.session,
        elder_id=hub.elder_id,
        kind=event.kind.value,
        priority=result.priority,
        reasons=result.reasons,
        risk=result.risk,
        test=result.test,
        source_event_id=event.id,
        device_id=context.device_id(hub, event.device),
        occurred_at=event.occurred_at,
    )
    log.info("%s event %s -> alert %s (test=%s)", event.kind.value, event.id, alert_id, test)


def project_readings(
    session: Session,
    *,
    settings: DevicesSettings,
    limit: int = 100,
    yield_to: Callable[[], bool] = lambda: False,
    write_gate: Callable[[], AbstractContextManager[object]] = contextlib.nullcontext,
) -> int:
    """Turns up to `limit` queued readings into triaged observations (and alerts); commits.

    Reading the queue and triage happen first, outside `write_gate`; only storing the
    observations and alerts and committing happen inside it, so an emergency waiting for
    the same gate waits for that short step alone. Stops triaging early, storing what is
    done, as soon as `yield_to()` says an emergency is waiting. Returns how many were done.
    Several processes may run this: on PostgreSQL each claims its rows with SKIP LOCKED.
    """
    # The queue and the events in one statement; the lock (PostgreSQL) is on the queue rows.
    rows = session.execute(
        sa.select(
            col(AgentEvent.id), col(AgentEvent.hub_id), col(AgentEvent.elder_id),
            col(AgentEvent.device), col(AgentEvent.occurred_at), col(AgentEvent.payload),
        )
        .join(PendingReading, col(PendingReading.event_id) == col(AgentEvent.id))
        .order_by(col(PendingReading.queued_at))
        .limit(limit)
        .with_for_update(skip_locked=True, of=PendingReading)
    ).all()  # fmt: skip
    if not rows:
        session.rollback()
        return 0
    context = _Context(session=session, settings=settings)
    context.preload({elder_id for _, _, elder_id, *_ in rows})
    items: list[NewObservation] = []
    for event_id, hub_id, elder_id, device, occurred_at, raw in rows:
        elder = context.elder(elder_id)
        if elder is None:
            continue
        hub = HubIdentity(token_id=hub_id, device_id=hub_id, elder_id=elder_id)
        # The payload was validated by the protocol model when it was stored and is kept as
        # that model serialised it: read as data, not validated again (a third of a
        # reading's cost was rebuilding those models).
        measured = raw["measurements"]
        stamp = raw.get("device_time")
        items.append(NewObservation(
            elder=elder,
            readings=[Reading(m["code"], float(m["value"]), m["unit"]) for m in measured],
            source=ObservationSource.DEVICE,
            observed_at=occurred_at,
            observation_id=event_id,
            device_id=context.device_id(hub, device),
            device_time=_device_time(datetime.fromisoformat(stamp) if stamp else None),
            device_clock_suspect=bool(raw.get("device_clock_suspect", False)),
            raw_hex=raw.get("raw_hex"),
        ))  # fmt: skip
    done: list[uuid.UUID] = [r[0] for r in rows if context.elders.get(r[2]) is None]
    # Triage stops early for an emergency (never before its first step, so a steady stream
    # of them cannot starve the readings).
    triaged = assess_readings(session, items, yield_to=yield_to)
    with write_gate(), session.no_autoflush:
        chosen = [item for item in items if item.observation_id in triaged]
        recorded = record_observations(session, chosen, assessments=triaged)
        alerts: list[alerting.ReadingAlert] = []
        for item, result in zip(chosen, recorded, strict=True):
            if result.created:
                alert = _reading_alert(item, result.assessment)
                if alert is not None:
                    alerts.append(alert)
            done.append(item.observation_id)
        alerting.raise_reading_alerts(session, alerts)
        session.execute(sa.delete(PendingReading).where(col(PendingReading.event_id).in_(done)))
        session.commit()
    return len(done)


def _device_time(value: datetime | None) -> datetime | None:
    # Devices keep local wall time with no zone; the programme's devices are set to Bangkok.
    if value is None or value.tzinfo is not None:
        return value
    return value.replace(tzinfo=BANGKOK)


def _reading_alert(
    item: NewObservation, assessment: triage.VitalsAssessment
) -> alerting.ReadingAlert | None:
    # GREEN stays on the observation (priority "green": follow up at the next visit).
    if assessment.priority not in ALERTING_PRIORITIES:
        return None
    result = triage.prioritise_event(
        kind="vitals", profile=profile_for(item.elder), vitals=assessment
    )
    if result.priority is None:
        return None
    return alerting.ReadingAlert(
        elder_id=item.elder.id,
        priority=result.priority,
        reasons=result.reasons,
        risk=result.risk,
        observation_id=item.observation_id,
        device_id=item.device_id,
        occurred_at=item.observed_at,
    )


# --- supervision on receipt ----------------------------------------------------------------


def _supervise(
    context: _Context, submissions: Sequence[Submission], fresh: Sequence[tuple[Submission, Event]]
) -> None:
    """One row per hub: last seen, newest heartbeat, batteries; clears a hub_offline alert."""
    session = context.session
    hubs: dict[uuid.UUID, HubIdentity] = {}
    seen_at: dict[uuid.UUID, datetime] = {}
    for sub in submissions:
        hubs[sub.hub.device_id] = sub.hub
        seen_at[sub.hub.device_id] = max(
            sub.received_at, seen_at.get(sub.hub.device_id, sub.received_at)
        )
    heartbeats: dict[uuid.UUID, HeartbeatEvent] = {}
    batteries: dict[uuid.UUID, dict[str, int]] = {}
    for sub, event in fresh:
        hub_id = sub.hub.device_id
        if isinstance(event, HeartbeatEvent):
            newest = heartbeats.get(hub_id)
            if newest is None or event.occurred_at > newest.occurred_at:
                heartbeats[hub_id] = event
        elif isinstance(event, BatteryEvent):
            batteries.setdefault(hub_id, {})[event.device] = event.payload.level

    statuses = {
        s.hub_id: s
        for s in session.exec(select(HubStatus).where(col(HubStatus.hub_id).in_(list(hubs)))).all()
    }
    for hub_id, hub in hubs.items():
        now = seen_at[hub_id]
        status = statuses.get(hub_id)
        if status is None:
            status = HubStatus(
                hub_id=hub_id, elder_id=hub.elder_id, first_seen_at=now, last_seen_at=now
            )
            session.add(status)
        # A check-in (heartbeat) always counts; otherwise last seen to the nearest few seconds
        # is all supervision needs, and rewriting the row for every message of a busy hub
        # is not.
        if hub_id in heartbeats or now - status.last_seen_at >= LAST_SEEN_RESOLUTION:
            status.last_seen_at = max(now, status.last_seen_at)
        if status.offline_since is not None:
            _back_online(context, hub, status, now)
        levels = dict(batteries.get(hub_id, {}))
        beat = heartbeats.get(hub_id)
        if beat is not None and (
            status.last_heartbeat_at is None or beat.occurred_at >= status.last_heartbeat_at
        ):
            payload = beat.payload
            status.last_heartbeat_at = beat.occurred_at
            status.agent_version = payload.agent_version
            status.outbox_depth = payload.outbox_depth
            status.adapter_ok = payload.adapter_ok
            status.speaker_ok = payload.speaker_ok
            status.devices = [d.model_dump(mode="json") for d in payload.devices]
            for health in payload.devices:
                if health.battery is not None:
                    levels.setdefault(health.device, health.battery)
            _storage(context, hub, status, payload.storage_problem)
        if levels:
            _batteries(context, hub, status, levels)
        synced = status.registry_synced_at
        if (
            synced is None
            or (now - synced).total_seconds() >= context.settings.registry_sync_seconds
        ):
            _sync_registry(context, hub, status, now)
            status.registry_synced_at = now


def _back_online(context: _Context, hub: HubIdentity, status: HubStatus, now: datetime) -> None:
    assert hub.elder_id is not None and status.offline_since is not None
    gone = now - status.offline_since
    minutes = max(1, round(gone.total_seconds() / 60))
    alerting.resolve_maintenance_alert(
        context.session,
        elder_id=hub.elder_id,
        device_id=hub.device_id,
        kind="hub_offline",
        note_key="devices.note.hub_back",
        # Shown to people as Bangkok clock time, never as a UTC timestamp.
        params={
            "minutes": minutes,
            "since": f"{as_utc(status.offline_since).astimezone(BANGKOK):%H:%M}",
        },
    )
    log.info("hub %s back after %d min", hub.device_id, minutes)
    status.offline_since = None
    status.offline_alert_id = None


def _batteries(
    context: _Context, hub: HubIdentity, status: HubStatus, levels: dict[str, int]
) -> None:
    assert hub.elder_id is not None
    settings = context.settings
    open_alerts = dict(status.low_battery or {})
    for name, level in sorted(levels.items()):
        if level <= settings.low_battery_percent and name not in open_alerts:
            result = triage.prioritise_event(kind="battery", battery_level=level)
            alert_id = alerting.raise_alert(
                context.session,
                elder_id=hub.elder_id,
                kind="low_battery",
                priority=result.priority or triage.Priority.WHITE,
                reasons=result.reasons,
                device_id=context.device_id(hub, name),
            )
            open_alerts[name] = str(alert_id)
        elif (
            name in open_alerts
            and level > settings.low_battery_percent + settings.battery_recovered_margin
        ):
            alerting.resolve_maintenance_alert(
                context.session,
                elder_id=hub.elder_id,
                device_id=context.device_id(hub, name),
                kind="low_battery",
                note_key="devices.note.battery_recovered",
                params={"level": level},
            )
            del open_alerts[name]
    if open_alerts != (status.low_battery or {}):
        status.low_battery = open_alerts


def _storage(context: _Context, hub: HubIdentity, status: HubStatus, problem: str | None) -> None:
    """A hub whose disk is full keeps events in memory: one WHITE device alert until the
    heartbeat says the disk takes writes again (a power cut then would lose them)."""
    assert hub.elder_id is not None
    if problem is not None and status.storage_alert_id is None:
        status.storage_alert_id = alerting.raise_alert(
            context.session,
            elder_id=hub.elder_id,
            kind="device_problem",
            priority=triage.Priority.WHITE,
            reasons=[triage.Reason(key="faults.hub_storage_full")],
            device_id=hub.device_id,
        )
        log.warning("hub %s reports its disk: %s", hub.device_id, problem)
    elif problem is None and status.storage_alert_id is not None:
        alerting.resolve_maintenance_alert(
            context.session,
            elder_id=hub.elder_id,
            device_id=hub.device_id,
            kind="device_problem",
            note_key="faults.hub_storage_ok",
            params={},
        )
        status.storage_alert_id = None


def _sync_registry(context: _Context, hub: HubIdentity, status: HubStatus, now: datetime) -> None:
    """Refreshes the registry's last-seen and battery figures (at most once a minute)."""
    session = context.session
    updates: dict[uuid.UUID, dict[str, Any]] = {hub.device_id: {"last_seen_at": now}}
    for health in status.devices or []:
        name = str(health.get("device", ""))
        device_id = context.device_id(hub, name)
        if device_id == hub.device_id:
            continue
        values: dict[str, Any] = {}
        if isinstance(health.get("battery"), int):
            values["battery"] = health["battery"]
        last = health.get("last_seen")
        if isinstance(last, str):
            values["last_seen_at"] = datetime.fromisoformat(last)
        if values:
            updates[device_id] = values
    for device_id, values in updates.items():
        session.execute(sa.update(Device).where(col(Device.id) == device_id).values(**values))


def offline_cutoff(now: datetime, settings: DevicesSettings) -> datetime:
    return now - timedelta(seconds=settings.offline_after_seconds)
