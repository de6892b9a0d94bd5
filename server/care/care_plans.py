"""Care plans: goals, problems, visit frequency per role, what to measure, personal targets
(written through to triage overrides) and the caregiver and volunteer assigned (written
through to the elder record, which is what scoping everywhere reads)."""

from __future__ import annotations

import uuid
from typing import Any

from sqlmodel import Session, col, select

import triage
from server.audit import service as audit
from server.auth.models import User
from server.care.access import elder_for
from server.care.models import CarePlan
from server.care.schedule import ensure_schedule
from server.care.schemas import CarePlanCreate, CarePlanOut, CarePlanUpdate, TargetsUpdate
from server.care.seq import next_seq
from server.common.time import utcnow
from server.elders import service as elders
from server.elders.models import Elder
from server.elders.schemas import ElderUpdate
from server.errors import ApiError
from server.observations import service as observations


def plan_out(plan: CarePlan, elder: Elder) -> CarePlanOut:
    data = plan.model_dump()
    data["caregiver_id"] = elder.caregiver_id
    data["volunteer_id"] = elder.volunteer_id
    return CarePlanOut.model_validate(data)


def _assign(
    session: Session, *, user: User, elder: Elder, values: dict[str, Any], request_id: str | None
) -> Elder:
    """Writes assignments through the elder registry (versioned, checked, audited there)."""
    changes = {k: v for k, v in values.items() if getattr(elder, k) != v}
    if not changes:
        return elder
    elders.update_elder(
        session, user=user, elder_id=elder.id,
        data=ElderUpdate(version=elder.version, **changes), request_id=request_id,
    )  # fmt: skip
    refreshed = session.get(Elder, elder.id)
    assert refreshed is not None
    return refreshed


def _targets_source(plan: CarePlan) -> str:
    return f"care-plan {plan.id} v{plan.version}"


def _write_targets(
    session: Session,
    *,
    plan: CarePlan,
    targets: triage.Overrides | None,
    user: User,
    request_id: str | None,
) -> None:
    if targets is not None:
        targets = targets.model_copy(update={"source": _targets_source(plan)})
    plan.targets = targets.model_dump(mode="json", exclude_none=True) if targets else {}
    observations.set_overrides(
        session, elder_id=plan.elder_id, overrides=targets, actor=user, request_id=request_id
    )


def create_plan(
    session: Session, *, user: User, data: CarePlanCreate, request_id: str | None
) -> tuple[CarePlan, Elder]:
    elder = elder_for(session, user=user, elder_id=data.elder_id)
    if session.exec(select(CarePlan.id).where(CarePlan.elder_id == elder.id)).first():
        raise ApiError(409, "plan_exists", "care.plan_exists", field="elder_id")
    assignments: dict[str, Any] = {
        k: getattr(data, k) for k in ("caregiver_id", "volunteer_id") if k in data.model_fields_set
    }
    elder = _assign(session, user=user, elder=elder, values=assignments, request_id=request_id)
    values = data.model_dump(
        exclude={"elder_id", "caregiver_id", "volunteer_id", "targets"}, mode="json"
    )
    plan = CarePlan(elder_id=elder.id, created_by=user.id, updated_by=user.id, **values)
    plan.seq = next_seq(session)
    session.add(plan)
    session.flush()
    _write_targets(session, plan=plan, targets=data.targets, user=user, request_id=request_id)
    ensure_schedule(session, plan=plan, elder=elder, now=utcnow())
    audit.record(
        session, actor=user, action="create", entity="care_plan", entity_id=plan.id,
        elder_id=elder.id, fields=sorted(data.model_fields_set), request_id=request_id,
    )  # fmt: skip
    session.flush()
    return plan, elder


def _stale(
    session: Session, plan: CarePlan, elder: Elder, *, user: User, request_id: str | None
) -> ApiError:
    audit.record_conflict_read(
        session, actor=user, entity="care_plan", elder_id=elder.id, request_id=request_id
    )
    return ApiError(
        409, "stale_version", "common.stale_version", field="version",
        extra={"current": plan_out(plan, elder).model_dump(mode="json")},
    )  # fmt: skip


def get_plan(session: Session, *, user: User, plan_id: uuid.UUID) -> tuple[CarePlan, Elder]:
    plan = session.get(CarePlan, plan_id)
    if plan is None:
        raise ApiError(404, "not_found", "common.not_found")
    return plan, elder_for(session, user=user, elder_id=plan.elder_id)


def read_plan(
    session: Session, *, user: User, plan_id: uuid.UUID, request_id: str | None
) -> CarePlanOut:
    plan, elder = get_plan(session, user=user, plan_id=plan_id)
    audit.record_reads(
        session, actor=user, entity="care_plan", elder_ids=[elder.id],
        fields=["care_plan"], request_id=request_id,
    )  # fmt: skip
    return plan_out(plan, elder)


def list_plans(
    session: Session, *, user: User, elder_id: uuid.UUID | None, request_id: str | None
) -> list[CarePlanOut]:
    query = select(CarePlan, Elder).join(Elder, col(Elder.id) == CarePlan.elder_id)
    query = elders.scope_query(query, user)
    if elder_id is not None:
        query = query.where(CarePlan.elder_id == elder_id)
    rows = session.exec(query.order_by(col(CarePlan.updated_at).desc()).limit(500)).all()
    audit.record_reads(
        session, actor=user, entity="care_plan", elder_ids=[e.id for _, e in rows],
        fields=["care_plan"], request_id=request_id,
    )  # fmt: skip
    return [plan_out(p, e) for p, e in rows]


def update_plan(
    session: Session,
    *,
    user: User,
    plan_id: uuid.UUID,
    data: CarePlanUpdate,
    request_id: str | None,
) -> tuple[CarePlan, Elder]:
    plan, elder = get_plan(session, user=user, plan_id=plan_id)
    if data.version != plan.version:
        raise _stale(session, plan, elder, user=user, request_id=request_id)
    given = data.model_fields_set - {"version"}
    assignments: dict[str, Any] = {
        k: getattr(data, k) for k in ("caregiver_id", "volunteer_id") if k in given
    }
    elder = _assign(session, user=user, elder=elder, values=assignments, request_id=request_id)
    for name in given - {"caregiver_id", "volunteer_id", "targets"}:
        value = getattr(data, name)
        if isinstance(value, list):
            value = [v.model_dump(mode="json") if hasattr(v, "model_dump") else v for v in value]
        setattr(plan, name, value)
    plan.version += 1
    plan.updated_by = user.id
    plan.updated_at = utcnow()
    plan.seq = next_seq(session)
    if "targets" in given:
        _write_targets(session, plan=plan, targets=data.targets, user=user, request_id=request_id)
    session.add(plan)
    if given & {"frequencies"} or assignments:
        ensure_schedule(session, plan=plan, elder=elder, now=utcnow())
    audit.record(
        session, actor=user, action="update", entity="care_plan", entity_id=plan.id,
        elder_id=elder.id, fields=sorted(given), request_id=request_id,
    )  # fmt: skip
    session.flush()
    return plan, elder


def set_targets(
    session: Session,
    *,
    user: User,
    plan_id: uuid.UUID,
    data: TargetsUpdate,
    request_id: str | None,
) -> tuple[CarePlan, Elder]:
    plan, elder = get_plan(session, user=user, plan_id=plan_id)
    if data.version != plan.version:
        raise _stale(session, plan, elder, user=user, request_id=request_id)
    apply_targets(session, plan=plan, targets=data.targets, user=user, request_id=request_id)
    session.flush()
    return plan, elder


def apply_targets(
    session: Session,
    *,
    plan: CarePlan,
    targets: triage.Overrides | None,
    user: User,
    request_id: str | None,
) -> None:
    """A clinician's targets (from the targets endpoint or a consultation's answer)."""
    plan.version += 1
    plan.updated_by = user.id
    plan.updated_at = utcnow()
    plan.seq = next_seq(session)
    _write_targets(session, plan=plan, targets=targets, user=user, request_id=request_id)
    session.add(plan)
    audit.record(
        session, actor=user, action="update", entity="care_plan", entity_id=plan.id,
        elder_id=plan.elder_id, fields=["targets"], request_id=request_id,
    )  # fmt: skip


def plan_for_elder(session: Session, elder_id: uuid.UUID) -> CarePlan | None:
    return session.exec(select(CarePlan).where(CarePlan.elder_id == elder_id)).first()
