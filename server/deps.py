"""Dependencies every domain shares: settings, a database session, the current person.

Named `Annotated` aliases keep handlers short: `def handler(session: SessionDep, user: CurrentUser)`.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable, Iterator
from typing import Annotated, Any

from fastapi import Depends, Request
from fastapi.routing import APIRoute
from sqlmodel import Session
from starlette.concurrency import run_in_threadpool

from server.auth.models import Role, User
from server.auth.service import csrf_valid, session_id_of, user_from_token
from server.config import Settings
from server.errors import ApiError
from server.i18n import Locale, normalise_locale
from server.telemetry.logs import set_user

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
CSRF_HEADER = "X-CSRF-Token"
CSRF_FIELD = "csrf_token"


def get_settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


SettingsDep = Annotated[Settings, Depends(get_settings)]


def get_session(request: Request) -> Iterator[Session]:
    """One unit of work per request: services add and flush, and the request commits once,
    when its handler returns. An exception rolls everything back, so a change and its audit
    row are stored together or not at all. A handler that must act after the commit (tell
    consoles, show a token) commits itself first; the commit here then has nothing to do."""
    with Session(request.app.state.engine, expire_on_commit=False) as session:
        yield session
        session.commit()


# Function scope: the commit runs when the handler returns, before the response is sent, so
# a failed commit is the request's answer (500) and never a success that was not stored.
SessionDep = Annotated[Session, Depends(get_session, scope="function")]


class HandlerRoute(APIRoute):
    """Every route of the server: a plain (``def``) handler commits its session in its own
    worker thread, as it returns.

    The framework writes a handler's answer in another worker thread before the session's
    own commit (in ``get_session``) runs, and the handler's connection stays checked out
    meanwhile. With more requests than pooled connections, every thread then waited for a
    connection while every connection waited for a thread: 600 syncing tablets wedged the
    process for good. A request now holds a connection only while one of its steps runs. The
    commit in ``get_session`` stays, for what writing the answer reads; a failed commit here
    is still the request's answer (500)."""

    def __init__(self, path: str, endpoint: Callable[..., Any], **kwargs: Any) -> None:
        if not inspect.iscoroutinefunction(endpoint):
            endpoint = _committing(endpoint)
        super().__init__(path, endpoint, **kwargs)


def _committing(handler: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(handler)
    def run(*args: Any, **values: Any) -> Any:
        answer = handler(*args, **values)
        for value in values.values():
            if isinstance(value, Session):
                value.commit()
        return answer

    return run


def request_locale(request: Request) -> Locale:
    locale: Locale = getattr(request.state, "locale", "th")
    return locale


LocaleDep = Annotated[Locale, Depends(request_locale)]


def request_id(request: Request) -> str:
    rid: str = getattr(request.state, "request_id", "")
    return rid


RequestId = Annotated[str, Depends(request_id)]


async def get_optional_user(
    request: Request, session: SessionDep, settings: SettingsDep
) -> User | None:
    header = request.headers.get("authorization", "")
    user: User | None = None
    if header.lower().startswith("bearer "):
        token = header[7:].strip()
        user = await run_in_threadpool(_signed_in, session, token, settings, "api")
        if user is not None:
            request.state.auth_session_id = session_id_of(token, settings=settings)
    else:
        cookie = request.cookies.get(settings.session_cookie)
        if cookie:
            user = await run_in_threadpool(_signed_in, session, cookie, settings, "session")
            if user is not None:
                request.state.auth_session_id = session_id_of(
                    cookie, settings=settings, purpose="session"
                )
            if user is not None and request.method not in SAFE_METHODS:
                # Cookies ride along on cross-site requests; bearer tokens do not.
                candidate = request.headers.get(CSRF_HEADER)
                if candidate is None and "form" in request.headers.get("content-type", ""):
                    form = await request.form()
                    value = form.get(CSRF_FIELD)
                    candidate = value if isinstance(value, str) else None
                if not csrf_valid(cookie, candidate, settings=settings):
                    raise ApiError(403, "csrf_failed", "common.csrf_failed")
    if user is not None:
        request.state.user = user
        set_user(user.id)
        if not getattr(request.state, "locale_explicit", False):
            request.state.locale = normalise_locale(user.locale) or request.state.locale
    return user


def _signed_in(session: Session, token: str, settings: Settings, purpose: str) -> User | None:
    """The token's user, read in a worker thread, with the connection given back at once.

    Off the event loop: a wait there for a pooled connection stops every request and socket
    of the process. And not held between the request's steps: each step waits for a worker
    thread, and requests holding connections while every thread waited for one wedged the
    process for good under 600 syncing tablets. A request holds a connection only while one
    of its steps runs."""
    user = user_from_token(session, token, settings=settings, purpose=purpose)
    session.commit()  # ends the read; nothing is expired (expire_on_commit=False)
    return user


OptionalUser = Annotated[User | None, Depends(get_optional_user)]


def get_current_user(user: OptionalUser) -> User:
    if user is None:
        raise ApiError(401, "unauthorized", "common.unauthorized")
    return user


CurrentUser = Annotated[User, Depends(get_current_user)]


def require_roles(*roles: Role) -> Callable[[User], User]:
    """A dependency that lets through only the given roles (403 otherwise)."""
    allowed = frozenset(roles)

    def check(user: CurrentUser) -> User:
        if user.role not in allowed:
            raise ApiError(403, "forbidden", "common.forbidden")
        return user

    check.allowed_roles = allowed  # type: ignore[attr-defined]
    return check


AdminUser = Annotated[User, Depends(require_roles(Role.ADMIN))]
