"""Which elders may be exported (consent covering City Data sharing), and the export itself.

Every export is audited: one row per elder with the ids of the resources that left, and one
row for the request. A withdrawn consent stops the next export at once.
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, Literal

import sqlalchemy as sa
from sqlmodel import Session, col, select

from server.alerts.models import Alert
from server.audit import service as audit
from server.auth.models import User
from server.care.models import Visit, VisitStatus
from server.common.time import BANGKOK, utcnow
from server.elders.models import Consent, ConsentScope, Elder, EmergencyContact
from server.fhir import resources
from server.observations.models import Observation, ObservationValue

ResourceType = Literal["Patient", "Observation", "Encounter", "Flag"]
RESOURCE_TYPES: tuple[ResourceType, ...] = ("Patient", "Observation", "Encounter", "Flag")
EXPORTED_VISITS = (VisitStatus.COMPLETED.value, VisitStatus.IN_PROGRESS.value)


@dataclass
class Page:
    resources: list[dict[str, Any]]
    more: bool  # another page follows


def sharing_elder_ids(session: Session, *, today: date | None = None) -> set[uuid.UUID]:
    """Elders with a consent in force whose scope covers sharing with City Data."""
    today = today or utcnow().astimezone(BANGKOK).date()
    allowed: set[uuid.UUID] = set()
    for consent in session.exec(select(Consent)).all():
        elder_id, scope = consent.elder_id, consent.scope
        given_on, withdrawn_on = consent.given_on, consent.withdrawn_on
        if ConsentScope.CITY_DATA.value not in (scope or []):
            continue
        if given_on > today or (withdrawn_on is not None and withdrawn_on <= today):
            continue
        allowed.add(elder_id)
    return allowed


def export_page(
    session: Session,
    *,
    resource_type: ResourceType,
    actor: User,
    request_id: str | None,
    patient: uuid.UUID | None = None,
    since: datetime | None = None,
    count: int = 100,
    offset: int = 0,
) -> Page:
    allowed = sharing_elder_ids(session)
    if patient is not None:
        allowed &= {patient}
    if not allowed:
        page = Page(resources=[], more=False)
    elif resource_type == "Patient":
        page = _patients(session, allowed, count=count, offset=offset)
    elif resource_type == "Observation":
        page = _observations(session, allowed, since=since, count=count, offset=offset)
    elif resource_type == "Encounter":
        page = _encounters(session, allowed, since=since, count=count, offset=offset)
    else:
        page = _flags(session, allowed, since=since, count=count, offset=offset)
    _audit(session, page.resources, resource_type=resource_type, actor=actor,
           request_id=request_id,
           params={"patient": str(patient) if patient else None,
                   "since": since.isoformat() if since else None,
                   "count": count, "offset": offset})  # fmt: skip
    return page


def _subject(resource: dict[str, Any]) -> str:
    if resource["resourceType"] == "Patient":
        return str(resource["id"])
    return str(resource["subject"]["reference"]).split("/", 1)[1]


def _audit(
    session: Session,
    exported: Sequence[dict[str, Any]],
    *,
    resource_type: str,
    actor: User,
    request_id: str | None,
    params: dict[str, Any],
) -> None:
    by_elder: dict[str, list[str]] = defaultdict(list)
    for resource in exported:
        by_elder[_subject(resource)].append(str(resource["id"]))
    for elder_id, ids in by_elder.items():
        audit.record(
            session, actor=actor, action="export", entity="fhir", entity_id=elder_id,
            elder_id=uuid.UUID(elder_id), fields=[resource_type], request_id=request_id,
            detail={"resource_type": resource_type, "ids": ids},
        )  # fmt: skip
    audit.record(
        session, actor=actor, action="export", entity="fhir_export", entity_id=resource_type,
        request_id=request_id,
        detail={"resource_type": resource_type, "resources": len(exported),
                "elders": len(by_elder), **params},
    )  # fmt: skip
    session.flush()


def _patients(session: Session, allowed: set[uuid.UUID], *, count: int, offset: int) -> Page:
    elders = session.exec(
        select(Elder).where(col(Elder.id).in_(allowed)).order_by(col(Elder.id))
        .offset(offset).limit(count + 1)
    ).all()  # fmt: skip
    more = len(elders) > count
    elders = elders[:count]
    contacts: dict[uuid.UUID, list[EmergencyContact]] = defaultdict(list)
    if elders:
        for contact in session.exec(
            select(EmergencyContact).where(
                col(EmergencyContact.elder_id).in_([e.id for e in elders])
            )
        ):
            contacts[contact.elder_id].append(contact)
    return Page([resources.patient(e, contacts[e.id]) for e in elders], more)


def _observations(
    session: Session, allowed: set[uuid.UUID], *, since: datetime | None, count: int, offset: int
) -> Page:
    query = select(Observation).where(col(Observation.elder_id).in_(allowed))
    if since is not None:
        query = query.where(col(Observation.recorded_at) >= since)
    rows = session.exec(
        query.order_by(col(Observation.observed_at), col(Observation.id))
        .offset(offset).limit(count + 1)
    ).all()  # fmt: skip
    more = len(rows) > count
    rows = rows[:count]
    values: dict[uuid.UUID, list[ObservationValue]] = defaultdict(list)
    if rows:
        for value in session.exec(
            select(ObservationValue).where(
                col(ObservationValue.observation_id).in_([o.id for o in rows])
            )
        ):
            values[value.observation_id].append(value)
    exported_visits = _exported_visit_ids(session, {o.visit_id for o in rows if o.visit_id})
    out: list[dict[str, Any]] = []
    for observation in rows:
        encounter = observation.visit_id if observation.visit_id in exported_visits else None
        out.extend(resources.observations(observation, values[observation.id], encounter=encounter))
    # The ADL scores taken at visits, paged alongside.
    visits_query = select(Visit).where(
        col(Visit.elder_id).in_(allowed), col(Visit.adl_score).is_not(None),
        col(Visit.status) == VisitStatus.COMPLETED.value,
    )  # fmt: skip
    if since is not None:
        visits_query = visits_query.where(col(Visit.updated_at) >= since)
    visits = session.exec(
        visits_query.order_by(col(Visit.ended_at), col(Visit.id)).offset(offset).limit(count + 1)
    ).all()
    more = more or len(visits) > count
    for visit in visits[:count]:
        score = resources.barthel(visit)
        if score is not None:
            out.append(score)
    return Page(out, more)


def _exported_visit_ids(session: Session, ids: set[uuid.UUID]) -> set[uuid.UUID]:
    if not ids:
        return set()
    rows = session.exec(
        select(Visit.id).where(col(Visit.id).in_(ids), col(Visit.status).in_(EXPORTED_VISITS))
    ).all()
    return set(rows)


def _encounters(
    session: Session, allowed: set[uuid.UUID], *, since: datetime | None, count: int, offset: int
) -> Page:
    query = select(Visit).where(
        col(Visit.elder_id).in_(allowed), col(Visit.status).in_(EXPORTED_VISITS)
    )
    if since is not None:
        query = query.where(col(Visit.updated_at) >= since)
    rows = session.exec(
        query.order_by(sa.func.coalesce(col(Visit.started_at), col(Visit.due_by)), col(Visit.id))
        .offset(offset).limit(count + 1)
    ).all()  # fmt: skip
    return Page([resources.encounter(v) for v in rows[:count]], len(rows) > count)


def _flags(
    session: Session, allowed: set[uuid.UUID], *, since: datetime | None, count: int, offset: int
) -> Page:
    query = select(Alert).where(col(Alert.elder_id).in_(allowed), col(Alert.test).is_(False))
    if since is not None:
        query = query.where(col(Alert.created_at) >= since)
    rows = session.exec(
        query.order_by(col(Alert.created_at), col(Alert.id)).offset(offset).limit(count + 1)
    ).all()
    return Page([resources.flag(a) for a in rows[:count]], len(rows) > count)
