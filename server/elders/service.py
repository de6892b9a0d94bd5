"""Elder registry logic: scoping by role and assignment, masking, versioned updates, audit."""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Callable, Mapping, Sequence
from datetime import date
from typing import Any, Protocol

import sqlalchemy as sa
from sqlalchemy.orm import object_session
from sqlmodel import Session, col, func, or_, select

from server.audit import service as audit
from server.auth.models import Role, User
from server.common.time import utcnow
from server.db import updated_one
from server.elders.models import Consent, Elder, ElderStatus, EmergencyContact
from server.elders.schemas import (
    EDITABLE_BY,
    HEALTH_FIELDS,
    HIDDEN_FROM,
    LIST_WITHOUT_HEALTH,
    SEES_ALL,
    SEES_ASSIGNED,
    ConsentIn,
    ConsentOut,
    ContactIn,
    ContactOut,
    ElderCreate,
    ElderDevice,
    ElderListItem,
    ElderOut,
    ElderPage,
    ElderUpdate,
    adl_group,
)
from server.errors import ApiError

# The devices of many elders at once, by elder (a caseload's page is one query, not one each).
DeviceLister = Callable[[Session, Sequence[uuid.UUID]], Mapping[uuid.UUID, Sequence[ElderDevice]]]
_device_lister: DeviceLister | None = None


def show_devices_with(lister: DeviceLister) -> None:
    """Devices belong to an elder, so the devices domain depends on the registry and not the
    other way round: it hands the registry this function when it is imported."""
    global _device_lister
    _device_lister = lister


ClinicalGate = Callable[[Session, User, uuid.UUID], bool]
_clinical_gate: ClinicalGate | None = None


def gate_clinical_with(gate: ClinicalGate) -> None:
    """Whether a person may read an elder's clinical fields can depend on an emergency under
    way (a dispatcher's scope). Alerts build on the registry, so the alerts domain hands the
    registry this check when it is imported; until then the clinical fields stay hidden."""
    global _clinical_gate
    _clinical_gate = gate


class ElderEdit(Protocol):
    def __call__(
        self,
        session: Session,
        *,
        user: User,
        elder_id: uuid.UUID,
        data: ElderUpdate,
        request_id: str | None,
    ) -> ElderOut: ...


_edit_handler: ElderEdit | None = None


def edit_elders_with(handler: ElderEdit) -> None:
    """Field workers' edits that change who is at risk are flagged to the care manager,
    whichever endpoint they come through. The care side (server.volunteers) does that and
    depends on the registry, so it hands the registry its handler when it is imported."""
    global _edit_handler
    _edit_handler = handler


def edit_elder(
    session: Session, *, user: User, elder_id: uuid.UUID, data: ElderUpdate, request_id: str | None
) -> ElderOut:
    """An edit as `PATCH /api/v1/elders/{id}` makes it: through the care side's handler if
    one is installed, else `update_elder` itself."""
    handler = _edit_handler or update_elder
    return handler(session, user=user, elder_id=elder_id, data=data, request_id=request_id)


def escape_like(text: str) -> str:
    """Makes LIKE wildcards in user input literal (used with `escape="\\"`)."""
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def age_on(birth: date, today: date | None = None) -> int:
    today = today or date.today()
    return today.year - birth.year - ((today.month, today.day) < (birth.month, birth.day))


def display_name(elder: Elder) -> str:
    """ "นางนงเยาว์ ใจดี": a Thai title is written together with the first name."""
    return f"{elder.title or ''}{elder.first_name} {elder.last_name}"


def mask_national_id(value: str) -> str:
    return "X-XXXX-XXXXX-" + value[-3:-1] + "-" + value[-1]


# Care and telehealth build on elders, so their tables are named here rather than imported.
_CONSULTS = sa.table("consults", sa.column("elder_id"))
_VISITS = sa.table("visits", sa.column("elder_id"), sa.column("role"), sa.column("assigned_to"))


def _clinicians_elders(user: User, elder_id: Any) -> sa.ColumnElement[bool]:
    """A clinician's elders: a question was asked about them (a consultation), or their care
    plan has clinicians visit (visits for the role, unassigned or assigned to this one)."""
    asked = sa.exists().where(_CONSULTS.c.elder_id == elder_id)
    visited = sa.exists().where(
        _VISITS.c.elder_id == elder_id,
        _VISITS.c.role == "clinician",
        or_(_VISITS.c.assigned_to.is_(None), _VISITS.c.assigned_to == user.id),
    )
    return or_(asked, visited)


def scope_query(query: Any, user: User) -> Any:
    """Limits a query over Elder to what `user` may see. Committee members see none."""
    if user.role in SEES_ALL:
        return query
    if user.role == Role.CAREGIVER:
        return query.where(Elder.caregiver_id == user.id)
    if user.role == Role.VOLUNTEER:
        return query.where(Elder.volunteer_id == user.id)
    if user.role == Role.CLINICIAN:
        return query.where(_clinicians_elders(user, Elder.id))
    return query.where(sa.false())


def can_see(user: User, elder: Elder) -> bool:
    if user.role in SEES_ALL:
        return True
    if user.role == Role.CAREGIVER:
        return elder.caregiver_id == user.id
    if user.role == Role.VOLUNTEER:
        return elder.volunteer_id == user.id
    if user.role == Role.CLINICIAN:
        session = object_session(elder)
        if session is None:
            return False
        return bool(session.execute(select(_clinicians_elders(user, elder.id))).scalar())
    return False


def visible_elder_ids(session: Session, user: User) -> set[uuid.UUID] | None:
    """None means "all"; other domains use this to scope their own queries."""
    if user.role in SEES_ALL:
        return None
    if user.role not in SEES_ASSIGNED:
        return set()
    return set(session.exec(scope_query(select(Elder.id), user)).all())


def get_visible(session: Session, *, user: User, elder_id: uuid.UUID) -> Elder:
    """The elder, or 404 — the same answer whether it does not exist or is not theirs."""
    elder = session.get(Elder, elder_id)
    if elder is None or not can_see(user, elder):
        raise ApiError(404, "not_found", "common.not_found")
    return elder


def list_elders(
    session: Session,
    *,
    user: User,
    q: str | None = None,
    status: str | None = None,
    community: str | None = None,
    page: int = 1,
    page_size: int = 25,
    request_id: str | None = None,
) -> ElderPage:
    query = scope_query(select(Elder), user)
    if q and "\x00" in q:
        # No stored text holds a NUL (PostgreSQL cannot store one), so nothing matches.
        query = query.where(sa.false())
    elif q and q.strip():
        # The search text is literal: % and _ match themselves, not "anything".
        like = f"%{escape_like(q.strip())}%"
        query = query.where(
            or_(
                col(Elder.first_name).ilike(like, escape="\\"),
                col(Elder.last_name).ilike(like, escape="\\"),
                col(Elder.community).ilike(like, escape="\\"),
                col(Elder.phone).ilike(like, escape="\\"),
                col(Elder.address).ilike(like, escape="\\"),
            )
        )
    if status:
        query = query.where(Elder.status == status)
    if community:
        query = query.where(Elder.community == community)
    total = session.exec(select(func.count()).select_from(query.subquery())).one()
    rows = session.exec(
        query.order_by(col(Elder.first_name), col(Elder.last_name), col(Elder.id))
        .offset((page - 1) * page_size)
        .limit(page_size)
    ).all()
    # A list shows no clinical detail to a role that may not read it outside an emergency.
    no_health = user.role in LIST_WITHOUT_HEALTH
    items = [
        ElderListItem(
            id=e.id,
            first_name=e.first_name,
            last_name=e.last_name,
            age=age_on(e.birth_date),
            community=e.community,
            status=e.status,
            lives_alone=e.lives_alone,
            has_carer=e.has_carer,
            adl_group=None if no_health else adl_group(e.adl_score),
            caregiver_id=e.caregiver_id,
        )
        for e in rows
    ]
    audit.record_reads(
        session,
        actor=user,
        entity="elder_list",
        elder_ids=[e.id for e in rows],
        fields=["name", "community", "status", "living_situation"]
        + ([] if no_health else ["adl_group"]),
        request_id=request_id,
    )
    return ElderPage(items=items, total=total, page=page, page_size=page_size)


def hidden_fields(session: Session, elder: Elder, *, user: User) -> set[str]:
    """The fields `user` may not read on this elder now."""
    hidden = set(HIDDEN_FROM.get(user.role, frozenset()))
    if _clinical_gate is None or not _clinical_gate(session, user, elder.id):
        hidden |= HEALTH_FIELDS
    return hidden


def to_out(session: Session, elder: Elder, *, user: User) -> ElderOut:
    [out] = to_out_many(session, [elder], user=user)
    return out


def to_out_many(session: Session, rows: Sequence[Elder], *, user: User) -> list[ElderOut]:
    """Several elders as `to_out` writes each, with their contacts, consents and devices read
    in one query each for all of them (a caseload of 40 was 120 queries)."""
    if not rows:
        return []
    ids = [e.id for e in rows]
    hidden = {e.id: hidden_fields(session, e, user=user) for e in rows}
    contacts: dict[uuid.UUID, list[ContactOut]] = defaultdict(list)
    for c in session.exec(
        select(EmergencyContact)
        .where(col(EmergencyContact.elder_id).in_(ids))
        .order_by(col(EmergencyContact.elder_id), col(EmergencyContact.position))
    ).all():
        contacts[c.elder_id].append(ContactOut.model_validate(c.model_dump()))
    consents: dict[uuid.UUID, list[ConsentOut]] = defaultdict(list)
    consent_ids = [i for i in ids if "consents" not in hidden[i]]
    if consent_ids:
        for consent in session.exec(
            select(Consent).where(col(Consent.elder_id).in_(consent_ids))
        ).all():
            consents[consent.elder_id].append(ConsentOut.model_validate(consent.model_dump()))
    device_ids = [i for i in ids if "devices" not in hidden[i]]
    devices = _device_lister(session, device_ids) if device_ids and _device_lister else {}
    out = []
    for elder in rows:
        data: dict[str, Any] = elder.model_dump()
        data["age"] = age_on(elder.birth_date)
        data["adl_group"] = adl_group(elder.adl_score)
        if user.role != Role.ADMIN:
            data["national_id"] = mask_national_id(elder.national_id)
        data["emergency_contacts"] = contacts.get(elder.id, [])
        if "consents" not in hidden[elder.id]:
            data["consents"] = consents.get(elder.id, [])
        if "devices" not in hidden[elder.id] and _device_lister is not None:
            data["devices"] = list(devices.get(elder.id, []))
        for name in hidden[elder.id]:
            data[name] = None
        data["hidden_fields"] = sorted(hidden[elder.id])
        out.append(ElderOut.model_validate(data))
    return out


def read_elder(
    session: Session, *, user: User, elder_id: uuid.UUID, request_id: str | None
) -> ElderOut:
    elder = get_visible(session, user=user, elder_id=elder_id)
    out = to_out(session, elder, user=user)
    shown = {k for k, v in out.model_dump().items() if v is not None} - {"hidden_fields"}
    audit.record_reads(
        session,
        actor=user,
        entity="elder",
        elder_ids=[elder.id],
        fields=shown,
        request_id=request_id,
    )
    return out


def _replace_contacts(session: Session, elder_id: uuid.UUID, contacts: list[ContactIn]) -> None:
    for old in session.exec(
        select(EmergencyContact).where(EmergencyContact.elder_id == elder_id)
    ).all():
        session.delete(old)
    session.flush()
    for position, contact in enumerate(contacts):
        session.add(EmergencyContact(elder_id=elder_id, position=position, **contact.model_dump()))


def _check_assignees(session: Session, values: dict[str, Any]) -> None:
    expected = {
        "caregiver_id": Role.CAREGIVER,
        "care_manager_id": Role.CARE_MANAGER,
        "volunteer_id": Role.VOLUNTEER,
    }
    for field, role in expected.items():
        user_id = values.get(field)
        if user_id is None:
            continue
        assignee = session.get(User, user_id)
        if assignee is None or assignee.role != role:
            raise ApiError(
                422, "invalid_assignee", "elders.invalid_assignee", field=field, role=role.value
            )


def create_elder(
    session: Session, *, user: User, data: ElderCreate, request_id: str | None
) -> Elder:
    if session.exec(select(Elder.id).where(Elder.national_id == data.national_id)).first():
        raise ApiError(409, "duplicate_national_id", "elders.duplicate", field="national_id")
    values = data.model_dump(exclude={"emergency_contacts"})
    _check_assignees(session, values)
    elder = Elder(**values)
    session.add(elder)
    session.flush()
    _replace_contacts(session, elder.id, data.emergency_contacts)
    audit.record(
        session,
        actor=user,
        action="create",
        entity="elder",
        entity_id=elder.id,
        elder_id=elder.id,
        fields=values.keys(),
        request_id=request_id,
    )
    session.flush()
    return elder


def update_elder(
    session: Session,
    *,
    user: User,
    elder_id: uuid.UUID,
    data: ElderUpdate,
    request_id: str | None,
) -> ElderOut:
    """A versioned edit within the role's fields. Adds and flushes; the caller commits, so
    it can add its own rows (e.g. a review flag) to the same transaction."""
    elder = get_visible(session, user=user, elder_id=elder_id)
    changes = data.model_dump(exclude_unset=True, exclude={"version"})
    allowed = EDITABLE_BY.get(user.role, frozenset())
    refused = sorted(set(changes) - allowed)
    if refused:
        raise ApiError(
            403, "field_not_editable", "elders.field_not_editable", field=refused[0],
            extra={"fields": refused},
        )  # fmt: skip
    if data.version != elder.version:
        audit.record_conflict_read(
            session, actor=user, entity="elder", elder_id=elder.id, request_id=request_id
        )
        raise ApiError(
            409,
            "stale_version",
            "elders.stale_version",
            field="version",
            extra={"current": to_out(session, elder, user=user).model_dump(mode="json")},
        )
    contacts = changes.pop("emergency_contacts", None)
    _check_assignees(session, changes)
    # The WHERE on version makes two simultaneous edits impossible to both succeed.
    if not updated_one(
        session,
        sa.update(Elder)
        .where(col(Elder.id) == elder_id, col(Elder.version) == data.version)
        .values(**changes, version=data.version + 1, updated_at=utcnow()),
    ):
        session.refresh(elder)
        audit.record_conflict_read(
            session, actor=user, entity="elder", elder_id=elder.id, request_id=request_id
        )
        raise ApiError(
            409,
            "stale_version",
            "elders.stale_version",
            field="version",
            extra={"current": to_out(session, elder, user=user).model_dump(mode="json")},
        )
    if contacts is not None:
        _replace_contacts(session, elder_id, [ContactIn.model_validate(c) for c in contacts])
    audit.record(
        session,
        actor=user,
        action="update",
        entity="elder",
        entity_id=elder_id,
        elder_id=elder_id,
        fields=[*changes, *(["emergency_contacts"] if contacts is not None else [])],
        request_id=request_id,
    )
    session.flush()
    session.refresh(elder)
    return to_out(session, elder, user=user)


def add_consent(
    session: Session, *, user: User, elder_id: uuid.UUID, data: ConsentIn, request_id: str | None
) -> Consent:
    elder = get_visible(session, user=user, elder_id=elder_id)
    consent = Consent(
        elder_id=elder.id,
        given_on=data.given_on,
        scope=[s.value for s in data.scope],
        notes=data.notes,
        recorded_by=user.id,
    )
    session.add(consent)
    audit.record(
        session, actor=user, action="create", entity="consent", entity_id=consent.id,
        elder_id=elder.id, fields=["scope", "given_on"], request_id=request_id,
    )  # fmt: skip
    session.flush()
    return consent


def withdraw_consent(
    session: Session,
    *,
    user: User,
    elder_id: uuid.UUID,
    consent_id: uuid.UUID,
    on: date,
    request_id: str | None,
) -> Consent:
    consent = session.get(Consent, consent_id)
    if consent is None or consent.elder_id != elder_id:
        raise ApiError(404, "not_found", "common.not_found")
    consent.withdrawn_on = on
    session.add(consent)
    audit.record(
        session, actor=user, action="update", entity="consent", entity_id=consent.id,
        elder_id=elder_id, fields=["withdrawn_on"], request_id=request_id,
    )  # fmt: skip
    session.flush()
    return consent


def find_by_national_id(session: Session, national_id: str) -> Elder | None:
    """For de-duplication only (imports, applications): callers must not show the record."""
    return session.exec(select(Elder).where(Elder.national_id == national_id)).first()


def change_status(
    session: Session,
    *,
    actor: User | None,
    elder_id: uuid.UUID,
    from_status: ElderStatus,
    to_status: ElderStatus,
    request_id: str | None,
    detail: dict[str, Any] | None = None,
) -> bool:
    """Moves an elder between statuses only if they are still in `from_status` (versioned,
    audited). Adds to the session; the caller commits. False if the elder had moved on."""
    if not updated_one(
        session,
        sa.update(Elder)
        .where(col(Elder.id) == elder_id, col(Elder.status) == from_status)
        .values(status=to_status, version=Elder.version + 1, updated_at=utcnow()),
    ):
        return False
    audit.record(
        session, actor=actor, action="status", entity="elder", entity_id=elder_id,
        elder_id=elder_id, fields=["status"], request_id=request_id,
        detail={"from": from_status.value, "to": to_status.value, **(detail or {})},
    )  # fmt: skip
    return True
