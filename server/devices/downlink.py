"""Messages down a hub's WebSocket: the hub says "help is coming" when a person acknowledges.

A downlink is a row (`hub_downlinks`) written in the transaction that calls for it, so it is
never sent for a change that rolled back and never lost when no hub is connected. Each
connected hub's socket has a pump that sends its unacknowledged rows; the pump is woken at
once when this process commits one, and a poller (one query a second for all of this
process's connected hubs) finds rows other processes wrote and sends again what a hub did not
acknowledge. The hub answers each with a `downlink_ack` naming the outcome (played, no
speaker, ...), which goes on the alert's timeline.
"""

from __future__ import annotations

import asyncio
import json
import logging
import uuid
import weakref
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta

import anyio
import sqlalchemy as sa
from pydantic import ValidationError
from sqlalchemy import event
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from eldercare_protocol import DownlinkAck, DownlinkKind, DownlinkOutcome, Prompt, SayDownlink
from server.alerts import hooks as alert_hooks
from server.alerts.models import Alert, AlertEvent, AlertKind, Responder
from server.common.time import utcnow
from server.devices.models import Device, DeviceKind, HubDownlink
from server.realtime import mark_changed

log = logging.getLogger(__name__)

NO_SYNC = {"synchronize_session": False}
# A prompt is worth saying only while it is news; one older than this is dropped unsent.
STALE_AFTER = timedelta(minutes=10)
# Sent and not acknowledged this long: sent again (the hub plays an id once).
RESEND_AFTER = timedelta(seconds=10)
_WRITTEN = "hub_downlinks_written"
# Prompts said for these kinds of alert: someone pressed for help and waits to hear.
SPOKEN_KINDS = frozenset({AlertKind.PANIC})


# --- writing -----------------------------------------------------------------------------


def queue_say(
    session: Session, *, elder_id: uuid.UUID, prompt: Prompt, alert_id: uuid.UUID | None
) -> list[HubDownlink]:
    """A `say` for each active hub in the elder's home. Adds; the caller commits."""
    hubs = session.exec(
        select(Device.id).where(
            Device.elder_id == elder_id,
            Device.kind == DeviceKind.HUB,
            col(Device.active).is_(True),
        )
    ).all()
    rows = [
        HubDownlink(
            hub_id=hub_id,
            kind=DownlinkKind.SAY.value,
            body={"prompt": prompt.value},
            alert_id=alert_id,
        )
        for hub_id in hubs
    ]
    session.add_all(rows)
    if rows:
        written: set[uuid.UUID] = session.info.setdefault(_WRITTEN, set())
        written.update(hubs)
    return rows


def _on_acknowledged(session: Session, alert: Alert) -> None:
    if alert.kind in SPOKEN_KINDS:
        queue_say(session, elder_id=alert.elder_id, prompt=Prompt.HELP_COMING, alert_id=alert.id)


def _on_dispatched(session: Session, alert: Alert, responder: Responder) -> None:
    if alert.kind in SPOKEN_KINDS:
        queue_say(
            session, elder_id=alert.elder_id, prompt=Prompt.RESPONDER_COMING, alert_id=alert.id
        )


def install() -> None:
    """The hub speaks when a person acknowledges a press, and when help is sent (idempotent)."""
    alert_hooks.on_acknowledged(_on_acknowledged)
    alert_hooks.on_dispatched(_on_dispatched)


# --- sending -----------------------------------------------------------------------------

# Relays of this process, told of hubs that have new rows once a transaction commits.
_relays: weakref.WeakSet[DownlinkRelay] = weakref.WeakSet()


@event.listens_for(Session, "after_commit")
def _wake_after_commit(session: Session) -> None:
    hubs: set[uuid.UUID] | None = session.info.pop(_WRITTEN, None)
    if hubs:
        for relay in list(_relays):
            relay.wake(hubs)


@event.listens_for(Session, "after_rollback")
def _forget_after_rollback(session: Session) -> None:
    session.info.pop(_WRITTEN, None)


def connected_hubs() -> int:
    """Hub sockets open in this process."""
    return sum(relay.connected for relay in list(_relays))


class DownlinkRelay:
    """This process's connected hubs, each with an event its socket's pump waits on."""

    def __init__(self, engine: Engine, *, poll_seconds: float = 1.0) -> None:
        self.engine = engine
        self.poll_seconds = poll_seconds
        self._waiting: dict[uuid.UUID, asyncio.Event] = {}
        self._loop: asyncio.AbstractEventLoop | None = None
        self._poller: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._poller = asyncio.create_task(self._poll(), name="hub-downlinks")
        _relays.add(self)

    async def stop(self) -> None:
        _relays.discard(self)
        if self._poller is not None:
            self._poller.cancel()
            with anyio.CancelScope(shield=True):
                await asyncio.gather(self._poller, return_exceptions=True)

    @property
    def connected(self) -> int:
        return len(self._waiting)

    def connect(self, hub_id: uuid.UUID) -> asyncio.Event:
        ready = asyncio.Event()
        ready.set()  # whatever waits for the hub goes out as soon as it connects
        self._waiting[hub_id] = ready
        return ready

    def disconnect(self, hub_id: uuid.UUID, ready: asyncio.Event) -> None:
        if self._waiting.get(hub_id) is ready:
            del self._waiting[hub_id]

    def wake(self, hubs: set[uuid.UUID]) -> None:
        """From any thread: the pumps of these hubs look again."""
        loop = self._loop
        if loop is None or loop.is_closed():
            return
        for hub_id in hubs:
            ready = self._waiting.get(hub_id)
            if ready is not None:
                loop.call_soon_threadsafe(ready.set)

    async def _poll(self) -> None:
        while True:
            await asyncio.sleep(self.poll_seconds)
            connected = list(self._waiting)
            if not connected:
                continue
            try:
                due = await anyio.to_thread.run_sync(_hubs_with_due, self.engine, connected)
            except (sa.exc.OperationalError, sa.exc.TimeoutError) as exc:  # lost or busy
                log.warning("downlinks: poll failed (%s); will retry", type(exc).__name__)
                continue
            for hub_id in due:
                ready = self._waiting.get(hub_id)
                if ready is not None:
                    ready.set()


def _due_filter(now: datetime) -> list[sa.ColumnElement[bool]]:
    return [
        col(HubDownlink.acked_at).is_(None),
        col(HubDownlink.created_at) >= now - STALE_AFTER,
        sa.or_(
            col(HubDownlink.sent_at).is_(None),
            col(HubDownlink.sent_at) < now - RESEND_AFTER,
        ),
    ]


def _hubs_with_due(engine: Engine, hubs: list[uuid.UUID]) -> list[uuid.UUID]:
    with Session(engine) as session:
        return list(
            session.exec(
                select(HubDownlink.hub_id)
                .where(col(HubDownlink.hub_id).in_(hubs), *_due_filter(utcnow()))
                .distinct()
            ).all()
        )


def take_due(engine: Engine, hub_id: uuid.UUID) -> list[str]:
    """The hub's downlinks to send now, as wire messages, marked sent."""
    now = utcnow()
    with Session(engine) as session:
        rows = session.exec(
            select(HubDownlink)
            .where(HubDownlink.hub_id == hub_id, *_due_filter(now))
            .order_by(col(HubDownlink.created_at))
            .limit(20)
        ).all()
        messages: list[str] = []
        for row in rows:
            if row.kind == DownlinkKind.SAY.value:
                message = SayDownlink(
                    id=row.id, prompt=Prompt(row.body["prompt"]), alert_id=row.alert_id
                )
                messages.append(message.model_dump_json())
        if rows:
            session.execute(
                sa.update(HubDownlink)
                .where(col(HubDownlink.id).in_([r.id for r in rows]))
                .values(sent_at=now, attempts=HubDownlink.attempts + 1),
                execution_options=NO_SYNC,
            )
            session.commit()
        return messages


async def pump(
    engine: Engine, hub_id: uuid.UUID, ready: asyncio.Event, send: Callable[[str], Awaitable[None]]
) -> None:
    """Sends the hub's downlinks whenever there may be some, for the socket's life."""
    while True:
        await ready.wait()
        ready.clear()
        try:
            messages = await anyio.to_thread.run_sync(take_due, engine, hub_id)
        except (sa.exc.OperationalError, sa.exc.TimeoutError) as exc:  # lost or busy
            log.warning("downlinks: could not read (%s); will retry", type(exc).__name__)
            continue
        for message in messages:
            await send(message)


# --- acknowledgements --------------------------------------------------------------------


def is_downlink_ack(data: str | bytes) -> bool:
    """Cheap look before parsing: events messages are the usual traffic."""
    head = data[:64] if isinstance(data, str) else data[:64].decode(errors="replace")
    return '"downlink_ack"' in head


def parse_ack(data: str | bytes) -> DownlinkAck | None:
    try:
        return DownlinkAck.model_validate(json.loads(data))
    except (ValueError, ValidationError):
        return None


def record_ack(engine: Engine, hub_id: uuid.UUID, ack: DownlinkAck) -> bool:
    """Marks the hub's downlink acknowledged (once) and puts the outcome on its alert's
    timeline. False if it is not this hub's or was already acknowledged."""
    now = utcnow()
    with Session(engine) as session:
        done = session.execute(
            sa.update(HubDownlink)
            .where(
                col(HubDownlink.id) == ack.id,
                col(HubDownlink.hub_id) == hub_id,
                col(HubDownlink.acked_at).is_(None),
            )
            .values(acked_at=now, outcome=ack.outcome.value),
            execution_options=NO_SYNC,
        )
        if done.rowcount != 1:  # type: ignore[attr-defined]
            session.rollback()
            return False
        row = session.get(HubDownlink, ack.id)
        if row is not None and row.alert_id is not None and row.kind == DownlinkKind.SAY.value:
            if ack.outcome == DownlinkOutcome.PLAYED:
                key = (
                    "hubvoice.timeline.played_responder_coming"
                    if row.body.get("prompt") == Prompt.RESPONDER_COMING.value
                    else "hubvoice.timeline.played_help_coming"
                )
            elif ack.outcome == DownlinkOutcome.NO_SPEAKER:
                key = "hubvoice.timeline.no_speaker"
            else:
                key = "hubvoice.timeline.failed"
            session.add(
                AlertEvent(
                    alert_id=row.alert_id,
                    at=now,
                    action=f"hub_say_{ack.outcome.value}",
                    note_key=key,
                    params={"prompt": row.body.get("prompt", "")},
                )
            )
            mark_changed(session, row.alert_id)
        session.commit()
        return True
