from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Form, Request
from sqlmodel import col, select

from server import security
from server.audit import service as audit
from server.auth import service
from server.auth.models import User
from server.auth.schemas import (
    MeUpdate,
    PasswordChange,
    TokenOut,
    UserCreate,
    UserOut,
    UserUpdate,
)
from server.deps import AdminUser, CurrentUser, HandlerRoute, RequestId, SessionDep, SettingsDep
from server.errors import ApiError

router = APIRouter(route_class=HandlerRoute, prefix="/api/v1", tags=["auth"])


@router.post("/auth/token")
def login_for_token(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    username: Annotated[str, Form(max_length=64)],
    password: Annotated[str, Form(max_length=128)],
) -> TokenOut:
    result = service.authenticate(
        session,
        username=username,
        password=password,
        ip=request.client.host if request.client else None,
        settings=settings,
    )
    # The attempt is stored even when the answer is a refusal: throttling counts it.
    session.commit()
    if result.retry_after:
        raise ApiError(
            429,
            "login_throttled",
            "auth.login_throttled",
            headers={"Retry-After": str(result.retry_after)},
            seconds=result.retry_after,
        )
    if result.user is None:
        raise ApiError(401, "login_failed", "auth.login_failed")
    token = service.issue_token(
        session, result.user, settings=settings, ip=request.client.host if request.client else None
    )
    session.commit()
    return TokenOut(access_token=token)


@router.post("/auth/logout")
def logout(
    request: Request, session: SessionDep, user: CurrentUser, rid: RequestId
) -> dict[str, str]:
    """Ends the session or token this request came with (and only that one)."""
    session_id = getattr(request.state, "auth_session_id", None)
    if session_id is not None:
        service.end_session(session, session_id=session_id)
        audit.record(
            session, actor=user, action="logout", entity="auth_session", entity_id=session_id,
            request_id=rid,
        )  # fmt: skip
        session.commit()
    return {"status": "logged_out"}


@router.post("/auth/password")
def change_password(
    body: PasswordChange, session: SessionDep, user: CurrentUser, rid: RequestId
) -> dict[str, str]:
    """Changing one's own password ends every session, this one included."""
    if not security.verify_password(user.password_hash, body.current_password):
        raise ApiError(
            403, "wrong_password", "security.password.wrong_current", field="current_password"
        )
    problem = service.password_problem(body.new_password, username=user.username)
    if problem:
        raise ApiError(422, "weak_password", problem, field="new_password")
    user.password_hash = security.hash_password(body.new_password)
    service.end_all_sessions(session, user=user, reason="password")
    audit.record(
        session, actor=user, action="update", entity="user", entity_id=user.id,
        fields=["password"], request_id=rid,
    )  # fmt: skip
    session.commit()
    return {"status": "changed"}


@router.get("/auth/me")
def me(user: CurrentUser) -> UserOut:
    return UserOut.model_validate(user, from_attributes=True)


@router.patch("/auth/me")
def update_me(body: MeUpdate, user: CurrentUser, session: SessionDep) -> UserOut:
    user.locale = body.locale
    session.add(user)
    session.commit()
    return UserOut.model_validate(user, from_attributes=True)


@router.get("/users")
def list_users(session: SessionDep, _admin: AdminUser) -> list[UserOut]:
    users = session.exec(select(User).order_by(col(User.role), col(User.username))).all()
    return [UserOut.model_validate(u, from_attributes=True) for u in users]


@router.post("/users", status_code=201)
def create_user(body: UserCreate, session: SessionDep, admin: AdminUser, rid: RequestId) -> UserOut:
    if service.get_user_by_username(session, body.username):
        raise ApiError(409, "username_taken", "auth.username_taken", field="username")
    problem = service.password_problem(body.password, username=body.username)
    if problem:
        raise ApiError(422, "weak_password", problem, field="password")
    user = service.create_user(session, **body.model_dump())
    audit.record(
        session, actor=admin, action="create", entity="user", entity_id=user.id, request_id=rid
    )
    session.commit()
    return UserOut.model_validate(user, from_attributes=True)


@router.patch("/users/{user_id}")
def update_user(
    user_id: uuid.UUID, body: UserUpdate, session: SessionDep, admin: AdminUser, rid: RequestId
) -> UserOut:
    user = session.get(User, user_id)
    if user is None:
        raise ApiError(404, "not_found", "common.not_found")
    changes = body.model_dump(exclude_unset=True)
    password = changes.pop("password", None)
    if password is not None:
        problem = service.password_problem(password, username=user.username)
        if problem:
            raise ApiError(422, "weak_password", problem, field="password")
    role_changed = "role" in changes and changes["role"] != user.role
    for name, value in changes.items():
        setattr(user, name, value)
    if password is not None:
        user.password_hash = security.hash_password(password)
    # Log out everywhere: a new password, a deactivation or a new role ends every session.
    if password is not None:
        service.end_all_sessions(session, user=user, reason="password")
    elif changes.get("active") is False:
        service.end_all_sessions(session, user=user, reason="deactivated")
    elif role_changed:
        service.end_all_sessions(session, user=user, reason="role")
    session.add(user)
    audit.record(
        session,
        actor=admin,
        action="update",
        entity="user",
        entity_id=user.id,
        fields=[*changes, *(["password"] if password else [])],
        request_id=rid,
    )
    session.commit()
    return UserOut.model_validate(user, from_attributes=True)
