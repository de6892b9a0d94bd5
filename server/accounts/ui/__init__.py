"""Login, logout, the home page and the users page."""

from __future__ import annotations

import secrets
from typing import Annotated

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlmodel import col, select

from server import security
from server.audit import service as audit
from server.auth import service
from server.auth.models import Role, User
from server.careapp.router import APP_ROLES
from server.deps import (
    CurrentUser,
    HandlerRoute,
    OptionalUser,
    RequestId,
    SessionDep,
    SettingsDep,
    require_roles,
)
from server.i18n import translate
from server.web import nav_links, register_nav, render

router = APIRouter(route_class=HandlerRoute, include_in_schema=False)
LOGIN_CSRF_COOKIE = "login_csrf"

register_nav("/admin/users", "common.nav.users", {Role.ADMIN})


def _safe_next(value: str | None) -> str:
    # Only local paths: never bounce a freshly logged-in person to another site.
    if value and value.startswith("/") and not value.startswith("//"):
        return value
    return "/"


@router.get("/login", response_class=HTMLResponse)
def login_page(request: Request, next: str | None = None, changed: bool = False) -> Response:
    token = secrets.token_urlsafe(24)
    notice = translate("security.password.changed", request.state.locale) if changed else None
    response = render(request, "login.html", login_csrf=token, next=_safe_next(next), notice=notice)
    response.set_cookie(LOGIN_CSRF_COOKIE, token, httponly=True, samesite="strict")
    return response


@router.post("/login", response_class=HTMLResponse)
def login_submit(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    username: Annotated[str, Form(max_length=64)],
    password: Annotated[str, Form(max_length=128)],
    login_csrf: Annotated[str, Form(max_length=64)] = "",
    next: Annotated[str, Form(max_length=500)] = "/",
) -> Response:
    locale = request.state.locale
    cookie = request.cookies.get(LOGIN_CSRF_COOKIE, "")
    if not cookie or not secrets.compare_digest(cookie, login_csrf):
        return render(
            request, "login.html", status_code=403, login_csrf=cookie, next=_safe_next(next),
            error=translate("common.csrf_failed", locale),
        )  # fmt: skip
    result = service.authenticate(
        session,
        username=username,
        password=password,
        ip=request.client.host if request.client else None,
        settings=settings,
    )
    session.commit()  # the attempt counts whatever the answer (throttling)
    if result.user is None:
        message = (
            translate("auth.login_throttled", locale, seconds=result.retry_after)
            if result.retry_after
            else translate("auth.login_failed", locale)
        )
        return render(
            request, "login.html", status_code=429 if result.retry_after else 401,
            login_csrf=cookie, next=_safe_next(next), error=message, username=username,
        )  # fmt: skip
    token = service.issue_token(
        session, result.user, settings=settings, purpose="session",
        ip=request.client.host if request.client else None,
    )  # fmt: skip
    session.commit()
    response = RedirectResponse(_safe_next(next), status_code=303)
    response.set_cookie(
        settings.session_cookie,
        token,
        httponly=True,
        secure=settings.cookie_secure,
        samesite="lax",
        max_age=settings.token_ttl_hours * 3600,
    )
    response.delete_cookie(LOGIN_CSRF_COOKIE)
    return response


@router.post("/logout")
def logout(
    request: Request, session: SessionDep, settings: SettingsDep, user: OptionalUser,
    rid: RequestId,
) -> Response:  # fmt: skip
    # The session ends on the server too, so a copied cookie stops working at once.
    session_id = getattr(request.state, "auth_session_id", None)
    if user is not None and session_id is not None:
        service.end_session(session, session_id=session_id)
        audit.record(
            session, actor=user, action="logout", entity="auth_session", entity_id=session_id,
            request_id=rid,
        )  # fmt: skip
        session.commit()
    response = RedirectResponse("/login", status_code=303)
    response.delete_cookie(settings.session_cookie)
    return response


@router.get("/", response_class=HTMLResponse)
def home(request: Request, user: OptionalUser) -> Response:
    if user is None:
        return RedirectResponse("/login", status_code=303)
    if user.role in APP_ROLES:
        # The care roles work in the app (offline-first); its menu links the server pages.
        return RedirectResponse("/app/", status_code=303)
    links = nav_links(user)
    if len(links) == 1:
        return RedirectResponse(links[0].href, status_code=303)
    return render(request, "home.html", links=links)


AdminPage = Annotated[User, Depends(require_roles(Role.ADMIN))]
CurrentPageUser = CurrentUser


@router.get("/admin/users", response_class=HTMLResponse)
def users_page(request: Request, session: SessionDep, _admin: AdminPage) -> Response:
    users = session.exec(select(User).order_by(col(User.role), col(User.username))).all()
    return render(request, "users.html", users=users, roles=list(Role))


@router.post("/admin/users", response_class=HTMLResponse)
def users_create(
    request: Request,
    session: SessionDep,
    admin: AdminPage,
    rid: RequestId,
    username: Annotated[str, Form(min_length=3, max_length=64, pattern=r"^[a-zA-Z0-9_.-]+$")],
    full_name: Annotated[str, Form(min_length=1, max_length=200)],
    role: Annotated[Role, Form()],
    password: Annotated[str, Form(min_length=8, max_length=128)],
) -> Response:
    locale = request.state.locale
    error = notice = None
    problem = service.password_problem(password, username=username)
    if service.get_user_by_username(session, username):
        error = translate("auth.username_taken", locale)
    elif problem:
        error = translate(problem, locale)
    else:
        user = service.create_user(
            session, username=username, password=password, full_name=full_name, role=role
        )
        audit.record(
            session, actor=admin, action="create", entity="user", entity_id=user.id,
            request_id=rid,
        )  # fmt: skip
        session.commit()
        notice = translate("auth.user_created", locale, username=user.username)
    users = session.exec(select(User).order_by(col(User.role), col(User.username))).all()
    return render(
        request, "users.html", status_code=409 if error else 200, users=users,
        roles=list(Role), error=error, notice=notice,
    )  # fmt: skip


@router.get("/account/password", response_class=HTMLResponse)
def password_page(request: Request, user: CurrentPageUser) -> Response:
    return render(request, "password.html")


@router.post("/account/password", response_class=HTMLResponse)
def password_submit(
    request: Request,
    session: SessionDep,
    user: CurrentPageUser,
    rid: RequestId,
    current_password: Annotated[str, Form(max_length=128)],
    new_password: Annotated[str, Form(max_length=128)],
    confirm_password: Annotated[str, Form(max_length=128)],
) -> Response:
    locale = request.state.locale
    error: str | None = None
    if not security.verify_password(user.password_hash, current_password):
        error = translate("security.password.wrong_current", locale)
    elif new_password != confirm_password:
        error = translate("security.password.mismatch", locale)
    else:
        problem = service.password_problem(new_password, username=user.username)
        if problem:
            error = translate(problem, locale)
    if error:
        return render(request, "password.html", status_code=422, error=error)
    user.password_hash = security.hash_password(new_password)
    service.end_all_sessions(session, user=user, reason="password")
    audit.record(
        session, actor=user, action="update", entity="user", entity_id=user.id,
        fields=["password"], request_id=rid,
    )  # fmt: skip
    session.commit()
    # Every session has ended, this one too: log in again with the new password.
    response = RedirectResponse("/login?changed=1", status_code=303)
    response.delete_cookie(request.app.state.settings.session_cookie)
    return response
