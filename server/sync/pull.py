"""`GET /api/v1/sync?since=...`: what one user's tablet should hold, and what it must drop.

Only the user's own elders (a caregiver's, a volunteer's, a care manager's), and for a
volunteer only contact data and check-ins. Rows of this domain carry `seq` from the sync
counter, so their changes since the cursor are exact. Elder records and observations belong
to other domains and are selected by time with an overlap (ids are stable, so a row sent
twice is harmless). An elder newly given to the user arrives whole (recent history); one
taken away arrives as a tombstone.
"""

from __future__ import annotations

import base64
import binascii
import uuid
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import sqlalchemy as sa
from pydantic_core import from_json, to_json
from sqlmodel import Session, col, select

from server.audit import service as audit
from server.auth.models import Role, User
from server.care.care_plans import plan_out
from server.care.models import (
    CareNote,
    CarePlan,
    Checkin,
    Consult,
    SyncAccess,
    Visit,
    VisitStatus,
    VoiceNote,
)
from server.care.notes import note_out
from server.care.schedule import visit_out
from server.care.schemas import SyncPullOut, Tombstone
from server.care.seq import current_seq, next_seq
from server.common.time import utcnow
from server.elders import service as elders
from server.elders.models import Elder
from server.errors import ApiError
from server.observations.models import Observation, ObservationValue
from server.telehealth.consults import consults_out
from server.telehealth.voice import note_out as voice_out
from server.volunteers.service import checkin_out

# How far back a tablet holds history for an elder it is given.
HISTORY_DAYS = 365  # a year: the care app draws one-year history charts
# Rows of other domains are chosen by time; this overlap covers transactions that were open
# (their timestamps set, not yet committed) when the previous pull ran.
OVERLAP = timedelta(minutes=5)
CURSOR_PREFIX = "v1"


def encode_cursor(seq: int, at: datetime) -> str:
    raw = f"{CURSOR_PREFIX}:{seq}:{int(at.timestamp() * 1000)}"
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[int, datetime]:
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        prefix, seq, millis = base64.urlsafe_b64decode(padded).decode().split(":")
        if prefix != CURSOR_PREFIX or len(seq) > 18 or len(millis) > 15:
            # Longer numbers are no cursor this server wrote, and would overflow the database.
            raise ValueError(prefix)
        return int(seq), datetime.fromtimestamp(int(millis) / 1000, tz=UTC)
    except (ValueError, binascii.Error, UnicodeDecodeError, OverflowError, OSError):
        raise ApiError(422, "invalid_cursor", "visits.sync.invalid_cursor", field="since") from None


def held_elder_ids(session: Session, user: User) -> set[uuid.UUID]:
    """The elders whose data belongs on this user's tablet: those assigned to them."""
    column = {
        Role.CAREGIVER: Elder.caregiver_id,
        Role.VOLUNTEER: Elder.volunteer_id,
        Role.CARE_MANAGER: Elder.care_manager_id,
    }.get(user.role)
    if column is None:
        return set()
    return set(session.exec(select(Elder.id).where(column == user.id)).all())


def _update_access(session: Session, user: User, now_ids: set[uuid.UUID]) -> None:
    rows = session.exec(
        select(SyncAccess).where(
            SyncAccess.user_id == user.id, col(SyncAccess.revoked_seq).is_(None)
        )
    ).all()
    open_ids = {r.elder_id for r in rows}
    gone = [r for r in rows if r.elder_id not in now_ids]
    new = now_ids - open_ids
    if not gone and not new:
        return
    seq = next_seq(session)
    for row in gone:
        row.revoked_seq = seq
        session.add(row)
    for elder_id in sorted(new):
        session.add(SyncAccess(user_id=user.id, elder_id=elder_id, granted_seq=seq))
    session.flush()


def record_access(session: Session, *, user: User) -> set[uuid.UUID]:
    """Notes which elders the user's tablet now holds (grants and revocations take a seq) and
    returns them. The caller commits before `pull`, so the sync counter is not held locked
    for the whole read."""
    held = held_elder_ids(session, user)
    _update_access(session, user, held)
    return held


@dataclass
class Pulled:
    """A pull's answer: `SyncPullOut` with its readings kept apart as plain dicts, so the
    bulk of it is written to JSON once, by pydantic-core, without models."""

    out: SyncPullOut
    observations: list[dict[str, Any]] = field(default_factory=list)

    def to_json(self) -> bytes:
        body = self.out.model_dump(mode="json")
        body["observations"] = self.observations  # keeps its place among the keys
        return to_json(body)


def pull(
    session: Session,
    *,
    user: User,
    held: set[uuid.UUID],
    since: str | None,
    request_id: str | None,
) -> Pulled:
    """`held` comes from `record_access`, committed first."""
    last_seq, last_at = decode_cursor(since) if since else (0, None)
    full = since is None
    # Read the counter before the rows: everything at or below it is committed and visible.
    upto = current_seq(session)
    started = utcnow()
    access = session.exec(select(SyncAccess).where(SyncAccess.user_id == user.id)).all()
    fresh = held if full else {
        r.elder_id for r in access if r.revoked_seq is None and r.granted_seq > last_seq
    }  # fmt: skip
    known = held - fresh
    tombstones = sorted(
        {
            r.elder_id
            for r in access
            if r.revoked_seq is not None and last_seq < r.revoked_seq <= upto
        }
        - held
    )
    out = SyncPullOut(
        cursor=encode_cursor(upto, started),
        full=full,
        tombstones=[Tombstone(entity="elder", id=e) for e in tombstones],
    )
    if not held:
        return Pulled(out)
    window_start = started - timedelta(days=HISTORY_DAYS)
    since_at = (last_at - OVERLAP) if last_at else window_start

    # Elder records: whole for fresh elders; for known ones, those changed since the cursor.
    elder_query = select(Elder).where(col(Elder.id).in_(held))
    if known:
        elder_query = elder_query.where(
            col(Elder.id).in_(fresh) | (col(Elder.updated_at) >= since_at)
            if fresh
            else col(Elder.updated_at) >= since_at
        )
    elder_rows = session.exec(elder_query).all()
    out.elders = elders.to_out_many(session, elder_rows, user=user)
    sent: set[uuid.UUID] = {e.id for e in elder_rows}

    window = _Window(fresh=fresh, known=known, last_seq=last_seq, upto=upto)
    checkins = session.exec(window.changed(Checkin, col(Checkin.checked_at) >= window_start)).all()
    out.checkins = [checkin_out(c) for c in checkins]
    sent |= {c.elder_id for c in checkins}
    pulled = Pulled(out)
    if user.role != Role.VOLUNTEER:
        sent |= _care_side(
            session, pulled, window=window, elder_rows=elder_rows, started=started,
            window_start=window_start, since_at=since_at,
        )  # fmt: skip
    audit.record_reads(
        session, actor=user, entity="sync", elder_ids=sorted(sent),
        fields=["elder", "care_plan", "visits", "observations", "consults", "checkins"]
        if user.role != Role.VOLUNTEER else ["elder", "checkins"],
        request_id=request_id,
    )  # fmt: skip
    return pulled


@dataclass(frozen=True)
class _Window:
    """Which rows of this domain a pull sends: recent ones for elders new on the tablet, and
    those changed since the cursor (by seq) for elders it already holds."""

    fresh: set[uuid.UUID]
    known: set[uuid.UUID]
    last_seq: int
    upto: int

    def changed(self, model: Any, recent: Any) -> Any:
        parts = []
        if self.fresh:
            parts.append(col(model.elder_id).in_(self.fresh) & recent)
        if self.known:
            parts.append(
                col(model.elder_id).in_(self.known)
                & (col(model.seq) > self.last_seq)
                & (col(model.seq) <= self.upto)
            )
        return select(model).where(sa.or_(*parts))


def _care_side(
    session: Session,
    pulled: Pulled,
    *,
    window: _Window,
    elder_rows: Sequence[Elder],
    started: datetime,
    window_start: datetime,
    since_at: datetime,
) -> set[uuid.UUID]:
    """Care plans, visits, notes, voice notes, consultations and readings (not for
    volunteers), into `pulled`; returns the elders whose data they carry."""
    out = pulled.out
    plans = session.exec(window.changed(CarePlan, sa.true())).all()
    plan_elders = {e.id: e for e in elder_rows}
    missing = {p.elder_id for p in plans} - plan_elders.keys()
    if missing:
        plan_elders |= {
            e.id: e for e in session.exec(select(Elder).where(col(Elder.id).in_(missing))).all()
        }
    out.care_plans = [plan_out(plan, plan_elders[plan.elder_id]) for plan in plans]
    open_or_recent = col(Visit.status).in_([VisitStatus.SCHEDULED, VisitStatus.IN_PROGRESS]) | (
        col(Visit.updated_at) >= window_start
    )
    visit_rows = session.exec(window.changed(Visit, open_or_recent)).all()
    out.visits = [visit_out(v, started) for v in visit_rows]
    notes = session.exec(window.changed(CareNote, col(CareNote.written_at) >= window_start)).all()
    out.notes = [note_out(n) for n in notes]
    voice = session.exec(
        window.changed(VoiceNote, col(VoiceNote.recorded_at) >= window_start)
    ).all()
    out.voice_notes = [voice_out(v) for v in voice]
    consults = session.exec(window.changed(Consult, col(Consult.created_at) >= window_start)).all()
    out.consults = consults_out(session, consults)
    pulled.observations = _observations(
        session, fresh=window.fresh, known=window.known, window_start=window_start,
        since_at=since_at,
    )  # fmt: skip
    sent = {p.elder_id for p in plans} | {v.elder_id for v in visit_rows}
    sent |= {uuid.UUID(e) for e in {o["elder_id"] for o in pulled.observations}}
    return sent | {c.elder_id for c in consults}


def _observations(
    session: Session,
    *,
    fresh: set[uuid.UUID],
    known: set[uuid.UUID],
    window_start: datetime,
    since_at: datetime,
) -> list[dict[str, Any]]:
    """The readings as plain dicts in `SyncObservation`'s shape, oldest first.

    A year of readings for 40 elders is ~15,000 reading sets and ~60,000 values: two column
    queries (no ORM objects, no pydantic models), and of each stored triage document only
    its reasons (the whole document, parsed by the driver, was half the pull's time)."""
    parts = []
    if fresh:
        parts.append(
            col(Observation.elder_id).in_(fresh) & (col(Observation.observed_at) >= window_start)
        )
    if known:
        parts.append(
            col(Observation.elder_id).in_(known) & (col(Observation.recorded_at) >= since_at)
        )
    chosen = sa.or_(*parts)
    # Core, not the ORM's row loading; ids as the database's text (making 75,000 UUID
    # objects only to match and print them again cost more than the queries).
    connection = session.connection()
    reasons = sa.cast(col(Observation.triage)["reasons"], sa.Text)
    rows = connection.execute(
        sa.select(
            sa.cast(col(Observation.id), sa.String), sa.cast(col(Observation.elder_id), sa.String),
            sa.cast(col(Observation.visit_id), sa.String),
            col(Observation.source), col(Observation.observed_at), col(Observation.recorded_at),
            col(Observation.priority), reasons,
        )
        .where(chosen)
        .order_by(col(Observation.observed_at), col(Observation.id))
    ).all()  # fmt: skip
    if not rows:
        return []
    # The values of the same reading sets, by a join on the same condition: one query
    # instead of one per few hundred ids.
    values: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for key, code, value, unit in connection.execute(
        sa.select(
            sa.cast(col(ObservationValue.observation_id), sa.String), col(ObservationValue.code),
            col(ObservationValue.value), col(ObservationValue.unit),
        )
        .join(Observation, col(Observation.id) == col(ObservationValue.observation_id))
        .where(chosen)
        .order_by(col(ObservationValue.id))
    ).all():  # fmt: skip
        values[key].append({"code": code, "value": value, "unit": unit})
    return [
        {
            "id": _dashed(key),
            "elder_id": _dashed(elder_key),
            "visit_id": _dashed(visit_key) if visit_key else None,
            "source": str(source),
            "observed_at": observed_at,
            "recorded_at": recorded_at,
            "priority": priority,
            "readings": values.get(key, []),
            "reasons": [str(r.get("key")) for r in from_json(text or "[]") or []],
        }
        for key, elder_key, visit_key, source, observed_at, recorded_at, priority, text in rows
    ]


def _dashed(text: str) -> str:
    """A UUID read as text, in its usual written form: PostgreSQL writes it so already,
    SQLite stores the 32 hex digits alone."""
    if len(text) == 32:
        return f"{text[:8]}-{text[8:12]}-{text[12:16]}-{text[16:20]}-{text[20:]}"
    return text
