"""The common records of a sync batch (visits, their edits, readings, notes) in bulk.

Record by record, each in a savepoint with its own lookups and inserts, a week's 500 records
cost ~11 SQL statements each. Here what the batch names is loaded first (one query per
table), each record is checked and staged in memory in the batch's order, and what was
staged is written together: the unit of work groups the inserts per table and the readings
go in through `record_observations`. A record is refused before it changes anything, so it
needs no savepoint of its own; the answers are the same as one by one.

What follows the rows is done once they are written, in the records' order: the follow-up
of an abnormal reading (review item, earlier visit, the alert for RED), and, once per elder
rather than after each visit, bringing the care plan's schedule in line. Records of the other
kinds are rare in bulk: they run one by one as before, after what was staged is written.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterable, Sequence
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, ValidationError
from sqlmodel import Session, col, select

import triage
from server.audit import service as audit
from server.care import visits
from server.care.care_plans import plan_for_elder
from server.care.models import CareNote, Consult, SyncReceipt, Visit
from server.care.notes import new_note
from server.care.schedule import ensure_schedule
from server.care.schemas import (
    NoteIn,
    ObservationIn,
    SyncRecord,
    SyncResult,
    VisitCreate,
    VisitUpdate,
)
from server.common.time import utcnow
from server.elders import service as elders
from server.elders.models import Elder
from server.errors import ApiError
from server.observations import service as observations
from server.observations.models import Observation, ObservationSource

if TYPE_CHECKING:
    from server.sync.push import Batch

FAST_TYPES = frozenset({"visit", "visit_update", "observation", "note"})
CHUNK = 500  # ids per IN (...) list


class Fallback(Exception):
    """The database refused what was staged: the records go again one by one."""


def _uuid(value: Any) -> uuid.UUID | None:
    try:
        return uuid.UUID(str(value))
    except ValueError:
        return None


def _chunks(ids: Iterable[uuid.UUID]) -> Iterable[list[uuid.UUID]]:
    ordered = sorted(set(ids))
    for start in range(0, len(ordered), CHUNK):
        yield ordered[start : start + CHUNK]


class FastLane:
    """Loads what the batch's records name, then checks, stages and writes them."""

    def __init__(
        self, batch: Batch, records: Sequence[SyncRecord], results: list[SyncResult | None]
    ) -> None:
        self.batch = batch
        self.session: Session = batch.session
        self.user = batch.user
        self.results = results  # the batch's answers, by position; filled in as they come
        # Typed data of each fast record (or the error validating it), by record id.
        self.data: dict[uuid.UUID, BaseModel | ValidationError] = {}
        # Every visit / note id the batch names: the row, or None where there is none.
        self.visits: dict[uuid.UUID, Visit | None] = {}
        self.notes: dict[uuid.UUID, CareNote | None] = {}
        # Held here: the session's identity map keeps unchanged rows only weakly.
        self.elders: dict[uuid.UUID, Elder] = {}
        self.stored_readings: dict[uuid.UUID, tuple[uuid.UUID, dict[str, Any]]] = {}
        self.assessed: dict[uuid.UUID, triage.VitalsAssessment] = {}
        self.readings: list[observations.NewObservation] = []
        self.new_notes: list[CareNote] = []
        self.after: list[Callable[[], None]] = []
        self.reschedule: dict[uuid.UUID, Elder] = {}
        # New readings whose answer (and receipt) is made once they are written.
        self.pending_ids: set[uuid.UUID] = set()
        self._load([r for r in records if r.type in FAST_TYPES])

    # --- loading ------------------------------------------------------------------------

    def _load(self, records: list[SyncRecord]) -> None:
        typed: dict[str, type[BaseModel]] = {
            "visit": VisitCreate, "observation": ObservationIn, "note": NoteIn,
        }  # fmt: skip
        elder_ids: set[uuid.UUID] = set()
        visit_ids: set[uuid.UUID] = set()
        note_ids: set[uuid.UUID] = set()
        reading_ids: set[uuid.UUID] = set()
        for record in records:
            payload = dict(record.data)
            if record.type == "visit_update":
                if record.target_id is not None:
                    visit_ids.add(record.target_id)
                continue
            if record.type == "visit":
                payload["id"] = str(record.id)
                visit_ids.add(record.id)
            elif record.type == "note":
                note_ids.add(record.id)
            else:
                payload.pop("elder_id", None)
                payload.pop("visit_id", None)
                payload["id"] = str(record.id)
                reading_ids.add(record.id)
            for key, into in (("elder_id", elder_ids), ("visit_id", visit_ids)):
                found = _uuid(record.data.get(key)) if record.data.get(key) else None
                if found is not None:
                    into.add(found)
            try:
                self.data[record.id] = typed[record.type].model_validate(payload)
            except ValidationError as error:
                self.data[record.id] = error
        session = self.session
        for chunk in _chunks(visit_ids):
            for visit in session.exec(select(Visit).where(col(Visit.id).in_(chunk))).all():
                self.visits[visit.id] = visit
                elder_ids.add(visit.elder_id)
        self.visits.update({v: None for v in visit_ids if v not in self.visits})
        for chunk in _chunks(note_ids):
            for note in session.exec(select(CareNote).where(col(CareNote.id).in_(chunk))).all():
                self.notes[note.id] = note
        self.notes.update({n: None for n in note_ids if n not in self.notes})
        for chunk in _chunks(reading_ids):
            for obs_id, elder_id, stored in session.execute(
                select(col(Observation.id), col(Observation.elder_id), col(Observation.triage))
                .where(col(Observation.id).in_(chunk))
            ).all():  # fmt: skip
                self.stored_readings[obs_id] = (elder_id, stored)
        # Into the session's identity map, where `elders.get_visible` finds them.
        for chunk in _chunks(elder_ids):
            for elder in session.exec(select(Elder).where(col(Elder.id).in_(chunk))).all():
                self.elders[elder.id] = elder
        self._triage(records)

    def _triage(self, records: list[SyncRecord]) -> None:
        """New readings are triaged before anything is stored: the batch knows at once
        which are RED, and their targets are read once."""
        items = []
        for record in records:
            data = self.data.get(record.id)
            if record.type != "observation" or not isinstance(data, ObservationIn):
                continue
            elder = self._visible_elder(record.data.get("elder_id"))
            if elder is not None and record.id not in self.stored_readings:
                items.append(self._reading(elder, data, visit=None))
        self.assessed = observations.assess_many(self.session, items) if items else {}

    def _visible_elder(self, raw: Any) -> Elder | None:
        elder_id = _uuid(raw) if raw is not None else None
        if elder_id is None:
            return None
        elder = self.elders.get(elder_id)
        return elder if elder is not None and elders.can_see(self.user, elder) else None

    def red(self, record: SyncRecord) -> bool:
        assessment = self.assessed.get(record.id)
        return (
            record.type == "observation"
            and assessment is not None
            and assessment.priority == triage.Priority.RED
        )

    def visit_of(self, record: SyncRecord) -> uuid.UUID | None:
        return _uuid(record.data.get("visit_id")) if record.data.get("visit_id") else None

    # --- staging, record by record ------------------------------------------------------

    def stage(self, index: int, record: SyncRecord, base: SyncResult) -> SyncResult | None:
        """Checks and stages one record. Returns its answer, or None when the answer comes
        once the staged rows are written (a new reading: its follow-up decides it)."""
        batch = self.batch
        try:
            if record.type == "visit":
                result = self._visit(record, base)
            elif record.type == "visit_update":
                result = self._visit_update(record, base)
            elif record.type == "note":
                result = self._note(record, base)
            else:
                return self._observation(index, record, base)
        except (ApiError, ValidationError) as error:
            return batch.refused(base, error)
        batch._receipt(record, result)
        return result

    def _typed(self, record: SyncRecord) -> Any:
        data = self.data[record.id]
        if isinstance(data, ValidationError):
            raise data
        return data

    def _visit(self, record: SyncRecord, base: SyncResult) -> SyncResult:
        data: VisitCreate = self._typed(record)
        elder = elders.get_visible(self.session, user=self.user, elder_id=data.elder_id)
        existing = self.visits.get(record.id)
        if existing is not None:
            if existing.elder_id != elder.id:
                raise ApiError(409, "id_in_use", "common.id_in_use", field="id")
            return self.batch._created(base, False, existing.id, version=existing.version)
        visit, ended = visits.new_visit(
            self.session, user=self.user, elder=elder, data=data,
            request_id=self.batch.request_id, reschedule=False,
        )  # fmt: skip
        self.visits[visit.id] = visit
        if ended:
            self.reschedule.setdefault(elder.id, elder)
        if visit.adl_score is not None:
            self.batch.adl_visits.append(visit)
        return self.batch._created(base, True, visit.id, version=visit.version)

    def _visit_update(self, record: SyncRecord, base: SyncResult) -> SyncResult:
        batch = self.batch
        target_id, base_version = batch._need_edit_fields(record)
        data = VisitUpdate.model_validate({**record.data, "version": base_version})
        visit = self.visits.get(target_id)
        if visit is None:
            raise ApiError(404, "not_found", "common.not_found")
        elder = elders.get_visible(self.session, user=self.user, elder_id=visit.elder_id)
        result, ended = batch.update_visit(
            record, base, visit, elder, data, base_version, reschedule=False
        )
        if ended:
            self.reschedule.setdefault(elder.id, elder)
        return result

    def _note(self, record: SyncRecord, base: SyncResult) -> SyncResult:
        data: NoteIn = self._typed(record)
        elder = elders.get_visible(self.session, user=self.user, elder_id=data.elder_id)
        existing = self.notes.get(record.id)
        if existing is not None:
            if existing.elder_id != elder.id:
                raise ApiError(409, "id_in_use", "common.id_in_use", field="id")
            return self.batch._created(base, False, existing.id)
        owners: list[Visit | Consult | None] = []
        if data.visit_id is not None:
            owners.append(self.visits.get(data.visit_id))
        if data.consult_id is not None:
            owners.append(self.session.get(Consult, data.consult_id))
        if any(row is None or row.elder_id != elder.id for row in owners):
            raise ApiError(422, "visit_of_other_elder", "care.visit_of_other_elder")
        note = new_note(
            self.session, user=self.user, elder=elder, note_id=record.id, data=data,
            request_id=self.batch.request_id,
        )  # fmt: skip
        self.notes[note.id] = note
        # Written after the visits: the unit of work does not order rows of two tables by
        # a foreign key without a relationship, and a note may belong to a new visit.
        self.session.expunge(note)
        self.new_notes.append(note)
        return self.batch._created(base, True, note.id)

    def _reading(
        self, elder: Elder, data: ObservationIn, visit: Visit | None
    ) -> observations.NewObservation:
        return observations.NewObservation(
            elder=elder,
            readings=[observations.Reading(r.code, r.value, r.unit or "") for r in data.readings],
            source=ObservationSource(data.source) if visit is None else ObservationSource.VISIT,
            observed_at=data.observed_at,
            observation_id=data.id,
            recorded_by=self.user,
            visit_id=visit.id if visit else None,
            on_oxygen=data.on_oxygen,
            consciousness=data.consciousness.value if data.consciousness else None,
            device_time=data.device_time,
            device_clock_suspect=data.device_clock_suspect,
            raw_hex=data.raw_hex,
        )

    def _observation(self, index: int, record: SyncRecord, base: SyncResult) -> SyncResult | None:
        batch = self.batch
        data: ObservationIn = self._typed(record)
        elder_id = record.data.get("elder_id")
        if elder_id is None:
            raise ApiError(422, "missing_field", "sync.missing_field", field="elder_id")
        elder = elders.get_visible(self.session, user=self.user, elder_id=uuid.UUID(str(elder_id)))
        visit = None
        visit_id = record.data.get("visit_id")
        if visit_id is not None:
            visit = self.visits.get(uuid.UUID(str(visit_id)))
            if visit is None:
                raise ApiError(422, "unknown_visit", "sync.unknown_visit", field="visit_id")
            if visit.elder_id != elder.id:
                raise ApiError(
                    422, "visit_of_other_elder", "care.visit_of_other_elder", field="visit_id"
                )
        stored = self.stored_readings.get(record.id)
        if stored is not None:
            if stored[0] != elder.id:
                raise ApiError(409, "id_in_use", "common.id_in_use", field="id")
            assessment = triage.VitalsAssessment.model_validate(stored[1])
            out = visits.reading_out(record.id, assessment, created=False)
            result = batch._created(base, False, out.id, detail={"priority": out.priority})
            batch._receipt(record, result)
            return result
        assessment = self.assessed[record.id]
        self.readings.append(self._reading(elder, data, visit))
        out = visits.reading_out(record.id, assessment, created=True)
        visits.audit_reading(
            self.session, user=self.user, elder=elder, assessment=assessment,
            observation_id=record.id, request_id=batch.request_id,
        )  # fmt: skip
        receipt = SyncReceipt(
            record_id=record.id, user_id=self.user.id, kind=record.type, result="stored",
            target_id=str(record.id),
        )  # fmt: skip
        batch.receipts[record.id] = receipt  # a repeat later in this batch is a duplicate
        self.pending_ids.add(record.id)

        def finish() -> None:
            if assessment.priority in visits.ABNORMAL:
                out.follow_up = visits.follow_up(
                    self.session, user=self.user, elder=elder, assessment=assessment,
                    observation_id=record.id, observed_at=data.observed_at,
                    cache=batch.follow_ups,
                )  # fmt: skip
            detail: dict[str, Any] = {"priority": out.priority}
            if out.follow_up is not None:
                detail["follow_up"] = out.follow_up.model_dump(mode="json")
            review_id = out.follow_up.review_id if out.follow_up else None
            receipt.review_id = review_id
            self.session.add(receipt)
            self.results[index] = batch._created(
                base, True, out.id, detail=detail, review_id=review_id
            )

        self.after.append(finish)
        return None

    def later(self, index: int, answer: Callable[[], SyncResult]) -> None:
        """An answer that depends on what is done once the rows are written (a repeat of a
        new reading in the same batch answers with its follow-up)."""

        def finish() -> None:
            self.results[index] = answer()

        self.after.append(finish)

    # --- writing ------------------------------------------------------------------------

    def write(self) -> None:
        """Writes what is staged, then what follows it, in the records' order."""
        session = self.session
        if self.readings:
            recorded = observations.record_observations(
                session, self.readings, assessments=self.assessed
            )
            if not all(r.created for r in recorded):
                raise Fallback  # stored meanwhile by another request: answer one by one
            self.readings = []
        audit.write_pending(session)
        session.flush()
        if self.new_notes:
            session.add_all(self.new_notes)
            self.new_notes = []
            session.flush()
        after, self.after = self.after, []
        for finish in after:
            finish()
        if self.reschedule:
            now = utcnow()
            for elder in self.reschedule.values():
                plan = plan_for_elder(session, elder.id)
                if plan is not None:
                    ensure_schedule(session, plan=plan, elder=elder, now=now)
            self.reschedule = {}
        audit.write_pending(session)
        session.flush()
