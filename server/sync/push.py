"""`POST /api/v1/sync`: a batch of records made offline, each answered on its own.

Every record runs in its own savepoint: a malformed or refused one is `rejected` with a
reason and the others are stored. Creating is idempotent (the record's UUID is the new
item's id, and a receipt remembers every record acted on). An edit names the version the
tablet's copy had; if the server's copy has moved on, the edit is not applied: it goes to
the care manager's review queue with both versions and the answer is `conflict`.
"""

from __future__ import annotations

import uuid
from collections import Counter
from collections.abc import Callable
from typing import Any

import sqlalchemy as sa
from pydantic import ValidationError
from sqlmodel import Session, col, select

from server.audit import service as audit
from server.auth.models import Role, User
from server.care import reviews, visits
from server.care.models import ReviewKind, SyncReceipt, Visit
from server.care.notes import add_note
from server.care.schedule import visit_out
from server.care.schemas import (
    CheckinIn,
    ConsultCreate,
    NoteIn,
    ObservationIn,
    SyncPushOut,
    SyncRecord,
    SyncResult,
    VisitCreate,
    VisitUpdate,
    VoiceNoteMeta,
)
from server.care.seq import next_seq
from server.elders import service as elders
from server.elders.models import Elder
from server.elders.schemas import EDITABLE_BY, ElderUpdate
from server.errors import ApiError
from server.i18n import Locale, translate
from server.sync.fast import FAST_TYPES, Fallback, FastLane
from server.telehealth import voice
from server.telehealth.consults import create_consult
from server.volunteers.service import _snapshot, add_checkin, flag_if_significant

FIELD_TYPES = frozenset(
    {"visit", "visit_update", "observation", "note", "voice_note", "consult", "checkin",
     "elder_update"}
)  # fmt: skip
# A volunteer's tablet carries contact updates and check-ins only.
ALLOWED: dict[Role, frozenset[str]] = {
    Role.CAREGIVER: FIELD_TYPES,
    Role.CARE_MANAGER: FIELD_TYPES,
    Role.VOLUNTEER: frozenset({"checkin", "elder_update"}),
}


def _first_error(error: ValidationError) -> tuple[str, str]:
    err = error.errors()[0]
    where = ".".join(str(p) for p in err["loc"])
    return where, f"{where}: {err['msg']}" if where else str(err["msg"])


class Batch:
    def __init__(
        self, session: Session, *, user: User, locale: Locale, request_id: str | None
    ) -> None:
        self.session = session
        self.user = user
        self.locale = locale
        self.request_id = request_id
        self.adl_visits: list[Visit] = []
        self.follow_ups: visits.FollowUpCache = {}
        self.receipts: dict[uuid.UUID, SyncReceipt] = {}

    # --- one record ---------------------------------------------------------------------

    def run(self, raw: Any) -> SyncResult:
        """One record on its own, in its own savepoint."""
        parsed = self.parse(raw)
        if isinstance(parsed, SyncResult):
            return parsed
        record, base = parsed
        return self.known(record, base) or self.run_one(record, base)

    def parse(self, raw: Any) -> tuple[SyncRecord, SyncResult] | SyncResult:
        """The record and its answer so far, or the answer to a malformed one."""
        raw_id = raw.get("id") if isinstance(raw, dict) else None
        raw_type = raw.get("type") if isinstance(raw, dict) else None
        try:
            record = SyncRecord.model_validate(raw)
        except ValidationError as error:
            field, message = _first_error(error)
            return SyncResult(
                id=str(raw_id) if raw_id is not None else None,
                type=str(raw_type) if raw_type is not None else None,
                result="rejected", reason="invalid", message=message, field=field,
            )  # fmt: skip
        return record, SyncResult(id=str(record.id), type=record.type, result="stored")

    def known(self, record: SyncRecord, base: SyncResult) -> SyncResult | None:
        """The answer without acting: a type this role may not send, or a record already
        acted on (a receipt)."""
        if record.type not in ALLOWED.get(self.user.role, frozenset()):
            return self._rejected(base, ApiError(403, "forbidden", "common.forbidden"))
        receipt = self.receipts.get(record.id)
        if receipt is None:
            return None
        if receipt.user_id != self.user.id or receipt.kind != record.type:
            return self._rejected(base, ApiError(409, "id_in_use", "common.id_in_use"))
        return base.model_copy(
            update={
                "result": "duplicate", "target_id": receipt.target_id,
                "review_id": receipt.review_id, "detail": {"first_result": receipt.result},
            }
        )  # fmt: skip

    def run_one(self, record: SyncRecord, base: SyncResult) -> SyncResult:
        next_seq(self.session)  # taken outside the savepoint so it outlives a rejected record
        handler = self._handlers()[record.type]
        try:
            with self.session.begin_nested():
                result = handler(record, base)
                self._receipt(record, result)
        except sa.exc.IntegrityError:
            # The database refused the record (e.g. a reference to a row that is not there).
            self.follow_ups.clear()
            self.receipts.pop(record.id, None)
            return self._rejected(base, ApiError(422, "refused", "sync.refused"))
        except (ApiError, ValidationError) as error:
            # What the savepoint undid may be cached: forget it rather than reuse it.
            self.follow_ups.clear()
            return self.refused(base, error)
        return result

    def refused(self, base: SyncResult, error: ApiError | ValidationError) -> SyncResult:
        if isinstance(error, ApiError):
            return self._rejected(base, error)
        field, message = _first_error(error)
        return base.model_copy(
            update={"result": "rejected", "reason": "invalid", "message": message,
                    "field": field or None}
        )  # fmt: skip

    def _handlers(self) -> dict[str, Callable[[SyncRecord, SyncResult], SyncResult]]:
        return {
            "visit": self._visit,
            "visit_update": self._visit_update,
            "observation": self._observation,
            "note": self._note,
            "voice_note": self._voice_note,
            "checkin": self._checkin,
            "consult": self._consult,
            "elder_update": self._elder_update,
        }

    def _rejected(self, base: SyncResult, error: ApiError) -> SyncResult:
        return base.model_copy(
            update={
                "result": "rejected", "reason": error.code, "field": error.field,
                "message": translate(error.message_key, self.locale, **error.params),
            }
        )  # fmt: skip

    def _receipt(self, record: SyncRecord, result: SyncResult) -> None:
        receipt = SyncReceipt(
            record_id=record.id, user_id=self.user.id, kind=record.type,
            result=result.result, target_id=result.target_id, review_id=result.review_id,
        )  # fmt: skip
        self.session.add(receipt)
        # A record repeated inside one batch is answered as a duplicate too.
        self.receipts[record.id] = receipt

    @staticmethod
    def _created(base: SyncResult, created: bool, target: uuid.UUID, **extra: Any) -> SyncResult:
        return base.model_copy(
            update={"result": "stored" if created else "duplicate", "target_id": str(target),
                    **extra}
        )  # fmt: skip

    # --- creates ------------------------------------------------------------------------

    def _visit(self, record: SyncRecord, base: SyncResult) -> SyncResult:
        data = VisitCreate.model_validate({**record.data, "id": str(record.id)})
        visit, created = visits.create_visit(
            self.session, user=self.user, data=data, request_id=self.request_id
        )
        if created and visit.adl_score is not None:
            self.adl_visits.append(visit)
        return self._created(base, created, visit.id, version=visit.version)

    def _observation(self, record: SyncRecord, base: SyncResult) -> SyncResult:
        payload = dict(record.data)
        elder_id = payload.pop("elder_id", None)
        visit_id = payload.pop("visit_id", None)
        data = ObservationIn.model_validate({**payload, "id": str(record.id)})
        if elder_id is None:
            raise ApiError(422, "missing_field", "sync.missing_field", field="elder_id")
        elder = elders.get_visible(self.session, user=self.user, elder_id=uuid.UUID(str(elder_id)))
        visit = None
        if visit_id is not None:
            visit = self.session.get(Visit, uuid.UUID(str(visit_id)))
            if visit is None:
                raise ApiError(422, "unknown_visit", "sync.unknown_visit", field="visit_id")
        out = visits.record_reading(
            self.session, user=self.user, elder=elder, data=data, visit=visit,
            request_id=self.request_id, follow_ups=self.follow_ups,
        )  # fmt: skip
        detail: dict[str, Any] = {"priority": out.priority}
        if out.follow_up is not None:
            detail["follow_up"] = out.follow_up.model_dump(mode="json")
        review_id = out.follow_up.review_id if out.follow_up else None
        return self._created(base, out.created, out.id, detail=detail, review_id=review_id)

    def _note(self, record: SyncRecord, base: SyncResult) -> SyncResult:
        data = NoteIn.model_validate(record.data)
        note, created = add_note(
            self.session, user=self.user, note_id=record.id, data=data,
            request_id=self.request_id,
        )  # fmt: skip
        return self._created(base, created, note.id)

    def _voice_note(self, record: SyncRecord, base: SyncResult) -> SyncResult:
        data = VoiceNoteMeta.model_validate(record.data)
        owner = (
            voice.Owner("visit", data.visit_id)
            if data.visit_id is not None
            else voice.Owner("consult", data.consult_id)  # type: ignore[arg-type]
        )
        note, created = voice.register_metadata(
            self.session, user=self.user, note_id=record.id, owner=owner,
            content_type=data.content_type, purpose=data.purpose, size=data.size,
            duration_s=data.duration_s, recorded_at=data.recorded_at,
        )  # fmt: skip
        return self._created(base, created, note.id, detail={"uploaded": note.stored})

    def _checkin(self, record: SyncRecord, base: SyncResult) -> SyncResult:
        payload = dict(record.data)
        elder_id = payload.pop("elder_id", None)
        if elder_id is None:
            raise ApiError(422, "missing_field", "sync.missing_field", field="elder_id")
        data = CheckinIn.model_validate({**payload, "id": str(record.id)})
        row, created, review_id = add_checkin(
            self.session, user=self.user, elder_id=uuid.UUID(str(elder_id)), data=data,
            request_id=self.request_id,
        )  # fmt: skip
        return self._created(base, created, row.id, review_id=review_id)

    def _consult(self, record: SyncRecord, base: SyncResult) -> SyncResult:
        data = ConsultCreate.model_validate({**record.data, "id": str(record.id)})
        consult, created = create_consult(
            self.session, user=self.user, data=data, request_id=self.request_id
        )
        return self._created(base, created, consult.id, version=consult.version)

    # --- edits --------------------------------------------------------------------------

    def _need_edit_fields(self, record: SyncRecord) -> tuple[uuid.UUID, int]:
        if record.target_id is None:
            raise ApiError(422, "missing_field", "sync.missing_field", field="target_id")
        if record.base_version is None:
            raise ApiError(422, "missing_field", "sync.missing_field", field="base_version")
        return record.target_id, record.base_version

    def _visit_update(self, record: SyncRecord, base: SyncResult) -> SyncResult:
        target_id, base_version = self._need_edit_fields(record)
        data = VisitUpdate.model_validate({**record.data, "version": base_version})
        visit, elder = visits.get_visit(self.session, user=self.user, visit_id=target_id)
        return self.update_visit(record, base, visit, elder, data, base_version)[0]

    def update_visit(
        self,
        record: SyncRecord,
        base: SyncResult,
        visit: Visit,
        elder: Elder,
        data: VisitUpdate,
        base_version: int,
        *,
        reschedule: bool = True,
    ) -> tuple[SyncResult, bool]:
        """An edit of a visit: applied, or a conflict for review. The flag says whether the
        plan's schedule still needs bringing in line (when `reschedule` is False)."""
        changes = visits.visit_changes(self.user, visit, data)
        if base_version != visit.version:
            item = reviews.flag(
                self.session, kind=ReviewKind.SYNC_CONFLICT, elder_id=elder.id,
                entity="visit", entity_id=visit.id, raised_by=self.user,
                detail={
                    "entity": "visit", "record_id": str(record.id),
                    "base_version": base_version, "server_version": visit.version,
                    "server": visit_out(visit).model_dump(mode="json"),
                    "client": data.model_dump(mode="json", include=set(changes)),
                    "base": {k: v for k, v in (record.base or {}).items() if k in changes},
                },
            )  # fmt: skip
            # The edit is not applied; the review (kept by this savepoint) holds both versions.
            return base.model_copy(
                update={"result": "conflict", "reason": "stale_version",
                        "message": translate("sync.conflict", self.locale),
                        "target_id": str(visit.id), "version": visit.version,
                        "review_id": item.id}
            ), False  # fmt: skip
        visit.version += 1
        ended = visits.apply_changes(
            self.session, user=self.user, visit=visit, elder=elder, changes=changes,
            reschedule=reschedule,
        )  # fmt: skip
        audit.record(
            self.session, actor=self.user, action="update", entity="visit", entity_id=visit.id,
            elder_id=elder.id, fields=sorted(changes), request_id=self.request_id,
            detail={"via": "sync"},
        )  # fmt: skip
        if "adl_score" in changes or "adl_items" in changes:
            self.adl_visits.append(visit)
        result = base.model_copy(update={"target_id": str(visit.id), "version": visit.version})
        return result, ended and not reschedule

    def _elder_update(self, record: SyncRecord, base: SyncResult) -> SyncResult:
        """Through the elder registry (versioned, with its field rules), in the record's
        savepoint like any other."""
        session = self.session
        target_id, base_version = self._need_edit_fields(record)
        data = ElderUpdate.model_validate({**record.data, "version": base_version})
        given = set(data.model_fields_set) - {"version"}
        refused = sorted(given - EDITABLE_BY.get(self.user.role, frozenset()))
        if refused:
            raise ApiError(403, "field_not_editable", "elders.field_not_editable", field=refused[0])
        elder = elders.get_visible(session, user=self.user, elder_id=target_id)
        before = _snapshot(elders.to_out(session, elder, user=self.user))
        if base_version != elder.version:
            return self._elder_conflict(record, base, elder, data, given, base_version)
        try:
            out = elders.update_elder(
                session, user=self.user, elder_id=elder.id, data=data, request_id=self.request_id
            )
        except ApiError as error:
            if error.code != "stale_version":
                raise
            fresh = session.get(Elder, target_id)
            assert fresh is not None
            return self._elder_conflict(record, base, fresh, data, given, base_version)
        review_id = flag_if_significant(
            session, user=self.user, elder_id=elder.id, before=before,
            after=_snapshot(out), version=out.version,
        )  # fmt: skip
        return base.model_copy(
            update={"target_id": str(elder.id), "version": out.version, "review_id": review_id}
        )

    def _elder_conflict(
        self,
        record: SyncRecord,
        base: SyncResult,
        elder: Elder,
        data: ElderUpdate,
        given: set[str],
        base_version: int,
    ) -> SyncResult:
        current = elders.to_out(self.session, elder, user=self.user).model_dump(
            mode="json", include=given | {"version"}
        )
        item = reviews.flag(
            self.session, kind=ReviewKind.SYNC_CONFLICT, elder_id=elder.id, entity="elder",
            entity_id=elder.id, raised_by=self.user,
            detail={
                "entity": "elder", "record_id": str(record.id), "base_version": base_version,
                "server_version": elder.version, "server": current,
                "client": data.model_dump(mode="json", include=given),
                "base": {k: v for k, v in (record.base or {}).items() if k in given},
            },
        )  # fmt: skip
        result = base.model_copy(
            update={"result": "conflict", "reason": "stale_version",
                    "message": translate("sync.conflict", self.locale),
                    "target_id": str(elder.id), "version": elder.version, "review_id": item.id}
        )  # fmt: skip
        return result


def push(
    session: Session,
    *,
    user: User,
    records: list[Any],
    locale: Locale,
    request_id: str | None,
) -> SyncPushOut:
    batch = Batch(session, user=user, locale=locale, request_id=request_id)
    _load_receipts(batch, records)
    parsed = [batch.parse(raw) for raw in records]
    results: list[SyncResult | None] = [p if isinstance(p, SyncResult) else None for p in parsed]
    todo = [(i, p) for i, p in enumerate(parsed) if not isinstance(p, SyncResult)]
    lane = FastLane(batch, [record for _, (record, _) in todo], results)
    # A RED reading goes ahead of the rest of the batch, with the visit it was taken at if
    # that comes in the same batch, and is committed at once: its alert reaches the centre
    # without waiting for the other records.
    red = [(i, record) for i, (record, _) in todo if lane.red(record)]
    red_visits = {lane.visit_of(record) for _, record in red}
    urgent = {i for i, _ in red} | {
        i for i, (record, _) in todo if record.type == "visit" and record.id in red_visits
    }
    fast = True
    for phase in ([t for t in todo if t[0] in urgent], [t for t in todo if t[0] not in urgent]):
        if not phase:
            continue
        if fast:
            fast = _run_phase(batch, lane, phase)
        else:
            for index, (record, base) in phase:
                results[index] = batch.known(record, base) or batch.run_one(record, base)
        if phase[0][0] in urgent:
            session.commit()
    for visit in batch.adl_visits:
        visits.write_adl_through(session, user=user, visit=visit, request_id=request_id)
    done = [r for r in results if r is not None]
    assert len(done) == len(results)
    counts = Counter(r.result for r in done)
    return SyncPushOut(
        results=done,
        counts={k: counts.get(k, 0) for k in ("stored", "duplicate", "conflict", "rejected")},
    )


def _load_receipts(batch: Batch, records: list[Any]) -> None:
    """One query for the receipts of the whole batch keeps a re-sent batch cheap."""
    ids: list[uuid.UUID] = []
    for raw in records:
        if isinstance(raw, dict):
            try:
                ids.append(uuid.UUID(str(raw.get("id"))))
            except ValueError:
                continue
    for start in range(0, len(ids), 500):
        chunk = ids[start : start + 500]
        for receipt in batch.session.exec(
            select(SyncReceipt).where(col(SyncReceipt.record_id).in_(chunk))
        ).all():
            batch.receipts[receipt.record_id] = receipt


def _run_phase(
    batch: Batch, lane: FastLane, phase: list[tuple[int, tuple[SyncRecord, SyncResult]]]
) -> bool:
    """Runs records through the fast lane; if the database refuses what was staged, undoes
    the phase and runs its records one by one instead. Returns whether the lane still holds
    (after a fallback, later phases go one by one too)."""
    session = batch.session
    results = lane.results
    next_seq(session)  # outside the phase's savepoint, like each record's below
    receipts, adl_count = dict(batch.receipts), len(batch.adl_visits)
    try:
        with session.begin_nested():
            for index, (record, base) in phase:
                if record.id in lane.pending_ids:
                    # A repeat of a new reading: answered like it, once it is written.
                    lane.later(index, _again(batch, record, base))
                elif (answer := batch.known(record, base)) is not None:
                    results[index] = answer
                elif record.type in FAST_TYPES:
                    results[index] = lane.stage(index, record, base)
                else:
                    lane.write()  # what came before is in the database, as one by one
                    results[index] = batch.run_one(record, base)
            lane.write()
    except (sa.exc.IntegrityError, Fallback):
        batch.receipts = receipts
        del batch.adl_visits[adl_count:]
        batch.follow_ups.clear()
        for index, (record, base) in phase:
            results[index] = batch.known(record, base) or batch.run_one(record, base)
        return False
    return True


def _again(batch: Batch, record: SyncRecord, base: SyncResult) -> Callable[[], SyncResult]:
    return lambda: batch.known(record, base) or base
