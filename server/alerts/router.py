"""The alerts API: the queue, one alert with its card, the lifecycle actions, responders."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Query
from sqlmodel import Session, col, select

import triage
from server.alerts import phone, queries, service
from server.alerts.access import EMERGENCY_SCOPED
from server.alerts.lifecycle import Action
from server.alerts.models import AlertKind, AlertStatus, Responder
from server.alerts.schemas import (
    ActionIn,
    AlertDetail,
    AlertList,
    AlertOut,
    PhoneCallIn,
    ResponderIn,
    ResponderOut,
    ResponderUpdate,
)
from server.audit import service as audit
from server.auth.models import Role, User
from server.common.time import utcnow
from server.deps import HandlerRoute, LocaleDep, RequestId, SessionDep, require_roles
from server.errors import ApiError
from server.i18n import Locale

DISPATCH_ROLES = frozenset({Role.DISPATCHER, Role.SUPERVISOR, Role.ADMIN})
READ_ROLES = DISPATCH_ROLES | {Role.CARE_MANAGER, Role.CLINICIAN}

Dispatcher = Annotated[User, Depends(require_roles(*DISPATCH_ROLES))]
AlertReader = Annotated[User, Depends(require_roles(*READ_ROLES))]
ResponderManager = Annotated[User, Depends(require_roles(Role.ADMIN, Role.SUPERVISOR))]


router = APIRouter(route_class=HandlerRoute, prefix="/api/v1", tags=["alerts"])


@router.post("/alerts", status_code=201)
def open_phone_call(
    body: PhoneCallIn, session: SessionDep, user: Dispatcher, locale: LocaleDep, rid: RequestId
) -> AlertOut:
    """A phone-in emergency: the elder or a neighbour called the centre."""
    # As for the actions: end the login check's read snapshot before writing on SQLite.
    session.commit()
    alert_id = phone.open_phone_call(
        session, user=user, elder_id=body.elder_id, priority=body.priority,
        reason=body.reason.strip(), request_id=rid,
    )  # fmt: skip
    session.commit()
    return queries.get_out(session, alert_id=alert_id, locale=locale)


@router.get("/alerts")
def list_alerts(
    session: SessionDep,
    user: AlertReader,
    locale: LocaleDep,
    rid: RequestId,
    state: Literal["open", "closed", "all"] = "all",
    status: AlertStatus | None = None,
    priority: triage.Priority | None = None,
    kind: AlertKind | None = None,
    elder_id: uuid.UUID | None = None,
    test: bool | None = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> AlertList:
    items = queries.list_alerts(
        session,
        locale=locale,
        state=state,
        status=status,
        priority=priority,
        kind=kind,
        elder_id=elder_id,
        test=test,
        limit=limit,
        emergency_only=user.role in EMERGENCY_SCOPED,
    )
    # The reasons carry names and readings: one audit row per elder shown, per request.
    audit.record_reads(
        session, actor=user, entity="alert_list", elder_ids=sorted({a.elder_id for a in items}),
        fields=["name", "age", "community", "alert_reasons"], request_id=rid,
    )  # fmt: skip
    return AlertList(items=items, now=utcnow())


@router.get("/alerts/{alert_id}")
def get_alert(
    alert_id: uuid.UUID, session: SessionDep, user: AlertReader, locale: LocaleDep, rid: RequestId
) -> AlertDetail:
    return queries.detail(session, alert_id=alert_id, user=user, locale=locale, request_id=rid)


def act(
    session: Session,
    *,
    alert_id: uuid.UUID,
    action: Action,
    actor: User,
    body: ActionIn | None,
    locale: Locale,
) -> AlertOut:
    # End the read snapshot the login check opened: on SQLite the conditional UPDATE must
    # start its own transaction (a stale WAL reader cannot become a writer).
    session.commit()
    body = body or ActionIn()
    service.transition(
        session,
        alert_id=alert_id,
        action=action,
        actor=actor,
        note=body.note,
        responder_id=body.responder_id,
    )
    session.commit()
    return queries.get_out(session, alert_id=alert_id, locale=locale)


def _action_handler(action: Action) -> Callable[..., AlertOut]:
    def handler(
        alert_id: uuid.UUID,
        session: SessionDep,
        user: Dispatcher,
        locale: LocaleDep,
        body: ActionIn | None = None,
    ) -> AlertOut:
        return act(session, alert_id=alert_id, action=action, actor=user, body=body, locale=locale)

    handler.__name__ = f"alert_{action.value.replace('-', '_')}"
    return handler


for _action in Action:
    router.add_api_route(
        f"/alerts/{{alert_id}}/{_action.value}",
        _action_handler(_action),
        methods=["POST"],
        response_model=AlertOut,
        summary=f"{_action.value} an alert (409 with the current state if not possible)",
    )


@router.get("/responders")
def list_responders(session: SessionDep, user: Dispatcher) -> list[ResponderOut]:
    rows = session.exec(
        select(Responder).where(col(Responder.active).is_(True)).order_by(col(Responder.name))
    ).all()
    return [ResponderOut.model_validate(r) for r in rows]


@router.post("/responders", status_code=201)
def create_responder(
    body: ResponderIn, session: SessionDep, user: ResponderManager
) -> ResponderOut:
    if body.user_id is not None and session.get(User, body.user_id) is None:
        raise ApiError(422, "unknown_reference", "errors.unknown_reference", field="user_id")
    responder = Responder(**body.model_dump())
    session.add(responder)
    session.commit()
    return ResponderOut.model_validate(responder)


@router.patch("/responders/{responder_id}")
def update_responder(
    responder_id: uuid.UUID, body: ResponderUpdate, session: SessionDep, user: Dispatcher
) -> ResponderOut:
    responder = session.get(Responder, responder_id)
    if responder is None:
        raise ApiError(404, "not_found", "common.not_found")
    for name, value in body.model_dump(exclude_unset=True).items():
        setattr(responder, name, value)
    session.add(responder)
    session.commit()
    return ResponderOut.model_validate(responder)
