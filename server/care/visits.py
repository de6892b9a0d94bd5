"""The visit log: who, when, where, checklist, notes, Barthel ADL, problems, next steps, and
the readings taken (stored as observations, triaged, followed up)."""

from __future__ import annotations

import logging
import math
import uuid
from datetime import datetime
from typing import Any

from sqlmodel import Session, col, select

import triage
from server.audit import service as audit
from server.auth.models import Role, User
from server.care import reviews
from server.care.access import elder_for
from server.care.alerting import raise_vitals_alert
from server.care.care_plans import plan_for_elder
from server.care.models import (
    ReviewItem,
    ReviewKind,
    ReviewStatus,
    Visit,
    VisitReason,
    VisitRole,
    VisitStatus,
)
from server.care.schedule import ensure_schedule, propose_follow_up, visit_out
from server.care.schemas import (
    FollowUp,
    ObservationIn,
    ObservationOut,
    VisitCreate,
    VisitOut,
    VisitUpdate,
)
from server.care.seq import next_seq
from server.common.time import utcnow
from server.elders import service as elders
from server.elders.models import Elder
from server.elders.schemas import EDITABLE_BY, ElderUpdate
from server.errors import ApiError
from server.observations import service as observations
from server.observations.models import ObservationSource

log = logging.getLogger(__name__)

FINAL = (VisitStatus.COMPLETED, VisitStatus.CANCELLED)
# Scheduling belongs to care managers; a caregiver logs what happened.
SCHEDULING_FIELDS = frozenset({"assigned_to", "due_by", "due_from"})
ABNORMAL = (triage.Priority.RED, triage.Priority.YELLOW, triage.Priority.GREEN)


def distance_m(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Great-circle distance (haversine) in metres."""
    r = 6_371_000.0
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return round(2 * r * math.asin(math.sqrt(a)), 1)


def get_visit(session: Session, *, user: User, visit_id: uuid.UUID) -> tuple[Visit, Elder]:
    visit = session.get(Visit, visit_id)
    if visit is None:
        raise ApiError(404, "not_found", "common.not_found")
    return visit, elder_for(session, user=user, elder_id=visit.elder_id)


def read_visit(
    session: Session, *, user: User, visit_id: uuid.UUID, request_id: str | None
) -> VisitOut:
    visit, elder = get_visit(session, user=user, visit_id=visit_id)
    audit.record_reads(
        session, actor=user, entity="visit", elder_ids=[elder.id], fields=["visit"],
        request_id=request_id,
    )  # fmt: skip
    return visit_out(visit)


def list_visits(
    session: Session,
    *,
    user: User,
    elder_id: uuid.UUID | None = None,
    status: VisitStatus | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    limit: int = 200,
    request_id: str | None = None,
) -> list[VisitOut]:
    query = select(Visit)
    visible = elders.visible_elder_ids(session, user)
    if visible is not None:
        query = query.where(col(Visit.elder_id).in_(visible))
    if elder_id is not None:
        query = query.where(Visit.elder_id == elder_id)
    if status is not None:
        query = query.where(Visit.status == status)
    if since is not None:
        query = query.where(col(Visit.due_by) >= since)
    if until is not None:
        query = query.where(col(Visit.due_by) < until)
    rows = session.exec(query.order_by(col(Visit.due_by).desc()).limit(limit)).all()
    audit.record_reads(
        session, actor=user, entity="visit", elder_ids=sorted({v.elder_id for v in rows}),
        fields=["visit"], request_id=request_id,
    )  # fmt: skip
    now = utcnow()
    return [visit_out(v, now) for v in rows]


def _check_changes(user: User, visit: Visit | None, changes: dict[str, Any]) -> None:
    if user.role == Role.CAREGIVER:
        refused = sorted(set(changes) & SCHEDULING_FIELDS)
        if refused:
            raise ApiError(403, "field_not_editable", "care.field_not_editable", field=refused[0])
    new_status = changes.get("status")
    if (
        visit is not None
        and new_status is not None
        and visit.status in FINAL
        and new_status != visit.status
    ):
        raise ApiError(
                422, "invalid_transition", "common.invalid_transition", field="status",
                current=visit.status.value, wanted=str(new_status),
            )  # fmt: skip


def apply_changes(
    session: Session,
    *,
    user: User,
    visit: Visit,
    elder: Elder,
    changes: dict[str, Any],
    reschedule: bool = True,
) -> bool:
    """Sets logged fields on a visit (new or existing); shared by the API, sync and reviews.
    Returns whether the plan's schedule needs bringing in line (a visit completed or missed):
    done here unless `reschedule` is False (a sync batch does it once per elder at its end)."""
    now = utcnow()
    for name, value in changes.items():
        setattr(visit, name, value)
    if (
        visit.latitude is not None
        and visit.longitude is not None
        and elder.latitude is not None
        and elder.longitude is not None
    ):
        visit.distance_m = distance_m(
            visit.latitude, visit.longitude, elder.latitude, elder.longitude
        )
    if changes.get("status") == VisitStatus.IN_PROGRESS and visit.started_at is None:
        visit.started_at = now
    if changes.get("status") in (VisitStatus.COMPLETED, VisitStatus.IN_PROGRESS):
        visit.performed_by = visit.performed_by or user.id
    if changes.get("status") == VisitStatus.COMPLETED:
        visit.started_at = visit.started_at or now
        visit.ended_at = visit.ended_at or now
    visit.updated_at = now
    visit.seq = next_seq(session)
    session.add(visit)
    ended = changes.get("status") in (VisitStatus.COMPLETED, VisitStatus.MISSED)
    if ended and reschedule:
        session.flush()
        plan = plan_for_elder(session, elder.id)
        if plan is not None:
            ensure_schedule(session, plan=plan, elder=elder, now=now)
    return ended


def _log_values(data: VisitCreate | VisitUpdate, fields: set[str]) -> dict[str, Any]:
    values = data.model_dump(include=fields, mode="python")
    if "checklist" in values and values["checklist"] is not None:
        values["checklist"] = [dict(item) for item in values["checklist"]]
    if values.get("adl_items") is None:
        values.pop("adl_items", None)
    for key in ("problems",):
        if key in values and values[key] is None:
            values[key] = []
    if "adl_items" in fields and data.adl_score is not None:
        values["adl_score"] = data.adl_score  # the items' sum, set by the schema
    return values


def create_visit(
    session: Session, *, user: User, data: VisitCreate, request_id: str | None
) -> tuple[Visit, bool]:
    """A new visit (an unscheduled one logged by a caregiver, or one a manager schedules).
    Idempotent on a client-made id. Adds to the session; the caller commits."""
    elder = elder_for(session, user=user, elder_id=data.elder_id)
    if data.id is not None:
        existing = session.get(Visit, data.id)
        if existing is not None:
            if existing.elder_id != elder.id:
                raise ApiError(409, "id_in_use", "common.id_in_use", field="id")
            return existing, False
    visit, _ = new_visit(session, user=user, elder=elder, data=data, request_id=request_id)
    return visit, True


def new_visit(
    session: Session,
    *,
    user: User,
    elder: Elder,
    data: VisitCreate,
    request_id: str | None,
    reschedule: bool = True,
) -> tuple[Visit, bool]:
    """The visit of `create_visit` once its id is known to be new (checked, then added to
    the session); the flag says whether the schedule still needs bringing in line."""
    given = set(data.model_fields_set) - {"id", "elder_id"}
    _check_changes(user, None, {k: getattr(data, k) for k in given})
    assigned = data.assigned_to
    if assigned is None and user.role == Role.CAREGIVER:
        assigned = user.id
    visit = Visit(
        id=data.id or uuid.uuid4(),
        elder_id=elder.id,
        role=data.role,
        reason=data.reason,
        assigned_to=assigned,
        due_from=data.due_from or data.planned_at or data.started_at,
        due_by=data.due_by or data.planned_at or data.started_at,
        planned_at=data.planned_at,
        created_by=user.id,
    )
    changes = _log_values(
        data, given - {"role", "reason", "assigned_to", "due_from", "due_by", "planned_at"}
    )
    ended = apply_changes(
        session, user=user, visit=visit, elder=elder, changes=changes, reschedule=reschedule
    )
    audit.record(
        session, actor=user, action="create", entity="visit", entity_id=visit.id,
        elder_id=elder.id, fields=sorted(given), request_id=request_id,
    )  # fmt: skip
    return visit, ended and not reschedule


def visit_changes(user: User, visit: Visit, data: VisitUpdate) -> dict[str, Any]:
    given = set(data.model_fields_set) - {"version"}
    changes = _log_values(data, given)
    _check_changes(user, visit, changes)
    return changes


def update_visit(
    session: Session,
    *,
    user: User,
    visit_id: uuid.UUID,
    data: VisitUpdate,
    request_id: str | None,
) -> Visit:
    """An online edit: a stale version is refused with the current record (409)."""
    visit, elder = get_visit(session, user=user, visit_id=visit_id)
    changes = visit_changes(user, visit, data)
    if data.version != visit.version:
        audit.record_conflict_read(
            session, actor=user, entity="visit", elder_id=visit.elder_id, request_id=request_id
        )
        raise ApiError(
            409, "stale_version", "common.stale_version", field="version",
            extra={"current": visit_out(visit).model_dump(mode="json")},
        )  # fmt: skip
    visit.version += 1
    apply_changes(session, user=user, visit=visit, elder=elder, changes=changes)
    audit.record(
        session, actor=user, action="update", entity="visit", entity_id=visit.id,
        elder_id=elder.id, fields=sorted(changes), request_id=request_id,
    )  # fmt: skip
    session.flush()
    write_adl_through(session, user=user, visit=visit, request_id=request_id)
    return visit


def write_adl_through(
    session: Session, *, user: User, visit: Visit, request_id: str | None
) -> None:
    """A Barthel re-assessment updates the elder record, so nobody re-keys it. In a savepoint:
    if the elder record moved on meanwhile, the visit keeps its score and the rest stands."""
    if visit.adl_score is None or "adl_score" not in EDITABLE_BY.get(user.role, frozenset()):
        return
    elder = session.get(Elder, visit.elder_id)
    if elder is None or elder.adl_score == visit.adl_score:
        return
    try:
        with session.begin_nested():
            elders.update_elder(
                session, user=user, elder_id=elder.id,
                data=ElderUpdate(version=elder.version, adl_score=visit.adl_score),
                request_id=request_id,
            )  # fmt: skip
    except ApiError as error:  # a concurrent edit: the visit keeps the score; say so
        log.warning("ADL score of visit %s not written to the elder: %s", visit.id, error.code)


def record_reading(
    session: Session,
    *,
    user: User,
    elder: Elder,
    data: ObservationIn,
    visit: Visit | None,
    request_id: str | None,
    follow_ups: FollowUpCache | None = None,
) -> ObservationOut:
    """Stores a reading set as an observation (id = the client's UUID), triaged; an abnormal
    one is flagged with an earlier visit proposed, a RED one goes to the emergency path.
    Adds to the session; the caller commits."""
    if visit is not None and visit.elder_id != elder.id:
        raise ApiError(422, "visit_of_other_elder", "care.visit_of_other_elder", field="visit_id")
    recorded = observations.record_observation(
        session,
        elder=elder,
        readings=[observations.Reading(r.code, r.value, r.unit or "") for r in data.readings],
        source=ObservationSource(data.source) if visit is None else ObservationSource.VISIT,
        observed_at=data.observed_at,
        observation_id=data.id,
        recorded_by=user,
        visit_id=visit.id if visit else None,
        on_oxygen=data.on_oxygen,
        consciousness=data.consciousness.value if data.consciousness else None,
        device_time=data.device_time,
        device_clock_suspect=data.device_clock_suspect,
        raw_hex=data.raw_hex,
    )
    if recorded.observation.elder_id != elder.id:
        raise ApiError(409, "id_in_use", "common.id_in_use", field="id")
    out = reading_out(recorded.observation.id, recorded.assessment, created=recorded.created)
    if recorded.created:
        reading_recorded(
            session, user=user, elder=elder, assessment=recorded.assessment, out=out,
            observed_at=data.observed_at, request_id=request_id, follow_ups=follow_ups,
        )  # fmt: skip
    return out


def reading_out(
    observation_id: uuid.UUID, assessment: triage.VitalsAssessment, *, created: bool
) -> ObservationOut:
    return ObservationOut(
        id=observation_id,
        created=created,
        priority=assessment.priority.value if assessment.priority else None,
        reasons=list(assessment.reasons),
    )


def reading_recorded(
    session: Session,
    *,
    user: User,
    elder: Elder,
    assessment: triage.VitalsAssessment,
    out: ObservationOut,
    observed_at: datetime,
    request_id: str | None,
    follow_ups: FollowUpCache | None = None,
) -> None:
    """What follows a new reading: its audit row, and for an abnormal one the follow-up
    (review item, earlier visit, and for RED the alert), set on `out`."""
    audit_reading(
        session, user=user, elder=elder, assessment=assessment, observation_id=out.id,
        request_id=request_id,
    )  # fmt: skip
    if assessment.priority in ABNORMAL:
        out.follow_up = follow_up(
            session, user=user, elder=elder, assessment=assessment, observation_id=out.id,
            observed_at=observed_at, cache=follow_ups,
        )  # fmt: skip


def audit_reading(
    session: Session,
    *,
    user: User,
    elder: Elder,
    assessment: triage.VitalsAssessment,
    observation_id: uuid.UUID,
    request_id: str | None,
) -> None:
    audit.record(
        session, actor=user, action="create", entity="observation", entity_id=observation_id,
        elder_id=elder.id, fields=sorted(assessment.readings) or ["consciousness"],
        request_id=request_id,
    )  # fmt: skip


# One open follow-up per elder and kind: (review item, proposed visit), cached per batch.
FollowUpCache = dict[tuple[uuid.UUID, ReviewKind], tuple[ReviewItem, Visit]]


def follow_up(
    session: Session,
    *,
    user: User,
    elder: Elder,
    assessment: triage.VitalsAssessment,
    observation_id: uuid.UUID,
    observed_at: datetime,
    cache: FollowUpCache | None = None,
) -> FollowUp:
    """Flags the elder (one open item per kind, gathering its readings), proposes an earlier
    visit, and for RED opens or joins an alert."""
    priority = assessment.priority
    assert priority is not None
    kind = ReviewKind.CRITICAL_READING if priority == triage.Priority.RED else (
        ReviewKind.ABNORMAL_READING
    )  # fmt: skip
    result = FollowUp()
    reading: dict[str, Any] = {"observation_id": str(observation_id), "priority": priority.value,
               "reasons": [r.key for r in assessment.reasons]}  # fmt: skip
    if priority == triage.Priority.RED:
        outcome = raise_vitals_alert(
            session, elder_id=elder.id, priority=priority, reasons=assessment.reasons,
            observation_id=observation_id, occurred_at=observed_at,
        )  # fmt: skip
        result.alert, result.alert_id = outcome.status, outcome.alert_id
        reading["alert"] = outcome.status
        reading["alert_id"] = str(outcome.alert_id) if outcome.alert_id else None
    cached = cache.get((elder.id, kind)) if cache is not None else None
    item, visit = cached if cached else (None, None)
    if item is None:
        item = session.exec(
            select(ReviewItem)
            .where(
                ReviewItem.elder_id == elder.id,
                ReviewItem.kind == kind,
                ReviewItem.status == ReviewStatus.OPEN,
            )
            .limit(1)
        ).first()
    if (
        visit is None
        or triage.Priority((item.priority if item else None) or priority).rank > priority.rank
    ):
        visit = propose_follow_up(
            session, elder=elder, priority=priority, now=utcnow(), created_by=user
        )
    if item is None:
        item = reviews.flag(
            session, kind=kind, elder_id=elder.id, entity="observation",
            entity_id=observation_id, priority=priority.value, raised_by=user,
            detail={"readings": []},
        )  # fmt: skip
    elif item.priority is None or triage.Priority(item.priority).rank > priority.rank:
        item.priority = priority.value
    # A new dict so the JSON column sees the change.
    item.detail = {
        **item.detail,
        "readings": [*item.detail.get("readings", []), reading],
        "proposed_visit_id": str(visit.id),
        "proposed_due_by": visit.due_by.isoformat() if visit.due_by else None,
    }
    session.add(item)
    if cache is not None:
        cache[(elder.id, kind)] = (item, visit)
    result.review_id, result.visit_id = item.id, visit.id
    return result


def urgent_visit(
    session: Session, *, elder: Elder, user: User, due_by: datetime, note: str | None
) -> Visit:
    """A visit a clinician or care manager asks for now (from a consultation)."""
    visit = Visit(
        elder_id=elder.id,
        role=VisitRole.CAREGIVER,
        reason=VisitReason.URGENT,
        assigned_to=elder.caregiver_id,
        due_from=utcnow(),
        due_by=due_by,
        next_steps=note,
        created_by=user.id,
        seq=next_seq(session),
    )
    session.add(visit)
    return visit
