"""What every request and page shares: request ids, language, body limits, errors, templates."""

from __future__ import annotations

import logging
import re
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates
from jinja2 import ChoiceLoader, Environment, FileSystemLoader
from sqlalchemy.exc import DataError, IntegrityError, OperationalError
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from server.auth.models import Role, User
from server.auth.service import csrf_token
from server.config import Settings
from server.errors import (
    DATABASE_RETRY_AFTER_S,
    ApiError,
    database_down,
    from_data_error,
    from_integrity_error,
)
from server.i18n import (
    DEFAULT_LOCALE,
    Locale,
    format_date,
    format_datetime,
    negotiate,
    normalise_locale,
    translate,
)

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class NavLink:
    href: str
    label: str  # i18n key
    roles: frozenset[Role]


# Each domain registers its pages here (in its ui module) so the menu fits the role.
NAV: list[NavLink] = []


def register_nav(href: str, label: str, roles: set[Role] | frozenset[Role]) -> None:
    if all(link.href != href for link in NAV):
        NAV.append(NavLink(href=href, label=label, roles=frozenset(roles)))


def nav_links(user: User | None) -> list[NavLink]:
    return [link for link in NAV if user is not None and user.role in link.roles]


SERVER_ROOT = Path(__file__).parent
LANG_COOKIE = "lang"


def _template_dirs() -> list[Path]:
    shared = SERVER_ROOT / "ui" / "templates"
    domains = sorted(p for p in SERVER_ROOT.glob("*/ui/templates") if p != shared)
    return [shared, *domains]


def _page_context(request: Request) -> dict[str, Any]:
    locale: Locale = getattr(request.state, "locale", DEFAULT_LOCALE)
    settings: Settings = request.app.state.settings
    session_cookie = request.cookies.get(settings.session_cookie)

    def t(key: str, **params: Any) -> str:
        return translate(key, locale, **params)

    return {
        "t": t,
        "locale": locale,
        "user": getattr(request.state, "user", None),
        "nav_links": nav_links,
        "csrf_token": csrf_token(session_cookie, settings=settings) if session_cookie else "",
        "fmt_date": lambda value: format_date(value, locale),
        "fmt_datetime": lambda value: format_datetime(value, locale),
    }


templates = Jinja2Templates(
    env=Environment(
        loader=ChoiceLoader([FileSystemLoader(str(d)) for d in _template_dirs()]),
        autoescape=True,
    ),
    context_processors=[_page_context],
)


def render(request: Request, name: str, status_code: int = 200, **context: Any) -> HTMLResponse:
    return templates.TemplateResponse(request, name, context, status_code=status_code)


def wants_html(request: Request) -> bool:
    return not request.url.path.startswith("/api/") and "text/html" in request.headers.get(
        "accept", ""
    )


class BodyLimitMiddleware:
    """Refuses oversized bodies with 413 before a handler buffers them."""

    def __init__(self, app: ASGIApp, *, limit: int, overrides: dict[str, int]) -> None:
        self.app = app
        self.limit = limit
        # Full-path patterns (the upload routes themselves), never prefixes: a prefix would
        # lift the limit for every route under it.
        self.overrides = [(re.compile(pattern), lim) for pattern, lim in overrides.items()]

    def _limit_for(self, path: str) -> int:
        for pattern, limit in self.overrides:
            if pattern.fullmatch(path):
                return limit
        return self.limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = self._limit_for(scope["path"])
        headers = dict(scope.get("headers") or [])
        declared = headers.get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > limit:
            await _too_large(scope, receive, send, limit)
            return
        seen = 0

        async def limited_receive() -> Message:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > limit:
                    raise _BodyTooLarge
            return message

        try:
            await self.app(scope, limited_receive, send)
        except _BodyTooLarge:
            await _too_large(scope, receive, send, limit)


class _BodyTooLarge(Exception):
    pass


async def _too_large(scope: Scope, receive: Receive, send: Send, limit: int) -> None:
    locale = _locale_from_headers(dict(scope.get("headers") or []))
    response = JSONResponse(
        {
            "detail": {
                "code": "body_too_large",
                "message": translate("common.body_too_large", locale, limit=limit),
                "limit": limit,
            }
        },
        status_code=413,
    )
    await response(scope, receive, send)


def _locale_from_headers(headers: dict[bytes, bytes]) -> Locale:
    accept = headers.get(b"accept-language", b"").decode("latin-1")
    return negotiate(accept) or DEFAULT_LOCALE


# Pages load scripts and styles from this server only and run no inline script; nothing may
# frame them (clickjacking). WebSockets to this host count as 'self'.
def content_security_policy(tile_origin: str | None = None) -> str:
    """The policy; `tile_origin` (the caseload map's tile server, when one is configured) is
    the one other place images may come from."""
    images = "img-src 'self' data:" + (f" {tile_origin}" if tile_origin else "")
    return "; ".join(
        (
            "default-src 'self'",
            "script-src 'self'",
            # No inline CSS either: pages link their style sheets, and the report plots carry
            # SVG presentation attributes instead of style (server/reports/plots.py). Scripts
            # setting element.style (the map places its markers so) are not inline CSS.
            "style-src 'self'",
            images,
            "media-src 'self' blob:",
            "connect-src 'self'",
            "font-src 'self'",
            "object-src 'none'",
            "base-uri 'self'",
            "form-action 'self'",
            "frame-ancestors 'none'",
        )
    )


CONTENT_SECURITY_POLICY = content_security_policy()


def add_security_headers(path: str, headers: Any, csp: str = CONTENT_SECURITY_POLICY) -> None:
    """On every response. Pages and API answers may carry health data: never cached."""
    headers.setdefault("X-Content-Type-Options", "nosniff")
    headers.setdefault("X-Frame-Options", "DENY")
    headers.setdefault("Referrer-Policy", "no-referrer")
    headers.setdefault("Content-Security-Policy", csp)
    # A route that chose its own caching keeps it (the care app's hashed shell files, which
    # carry no personal data); every other page and API answer is never stored.
    if not path.startswith("/static/") and path != "/favicon.ico":
        headers.setdefault("Cache-Control", "no-store")


def install(app: FastAPI) -> None:
    """Middleware and error handlers shared by every route."""
    csp = content_security_policy(app.state.settings.map_tile_origin)

    @app.middleware("http")
    async def request_context(request: Request, call_next: Any) -> Response:
        rid = request.headers.get("x-request-id", "")[:64] or uuid.uuid4().hex
        request.state.request_id = rid
        explicit = normalise_locale(request.query_params.get("lang")) or normalise_locale(
            request.cookies.get(LANG_COOKIE)
        )
        request.state.locale_explicit = explicit is not None
        request.state.locale = (
            explicit
            or negotiate(request.headers.get("accept-language"))
            or app.state.settings.default_locale
        )
        response: Response = await call_next(request)
        response.headers["X-Request-ID"] = rid
        add_security_headers(request.url.path, response.headers, csp)
        chosen = normalise_locale(request.query_params.get("lang"))
        if chosen:
            response.set_cookie(LANG_COOKIE, chosen, samesite="lax", max_age=365 * 86400)
        return response

    @app.exception_handler(ApiError)
    async def api_error(request: Request, exc: ApiError) -> Response:
        locale: Locale = getattr(request.state, "locale", DEFAULT_LOCALE)
        if wants_html(request) and exc.status_code == 401:
            return RedirectResponse(f"/login?next={request.url.path}", status_code=303)
        message = translate(exc.message_key, locale, **exc.params)
        if wants_html(request):
            return render(request, "error.html", status_code=exc.status_code, message=message)
        body: dict[str, Any] = {"code": exc.code, "message": message}
        if exc.field:
            body["field"] = exc.field
        body.update(exc.extra)
        return JSONResponse({"detail": body}, status_code=exc.status_code, headers=exc.headers)

    @app.exception_handler(IntegrityError)
    async def integrity_error(request: Request, exc: IntegrityError) -> Response:
        # The request's session rolled back; the caller learns which row or field is wrong.
        log.info("constraint refused: %s", type(exc.orig).__name__)
        return await api_error(request, from_integrity_error(exc))

    @app.exception_handler(DataError)
    async def data_error(request: Request, exc: DataError) -> Response:
        log.info("value refused by the database: %s", type(exc.orig).__name__)
        return await api_error(request, from_data_error(exc))

    @app.exception_handler(RequestValidationError)
    async def validation_error(request: Request, exc: RequestValidationError) -> Response:
        locale: Locale = getattr(request.state, "locale", DEFAULT_LOCALE)
        errors = [
            {
                "field": ".".join(str(p) for p in err["loc"] if p != "body"),
                "message": err["msg"],
                "type": err["type"],
            }
            for err in exc.errors()
        ]
        return JSONResponse(
            {
                "detail": {
                    "code": "validation_failed",
                    "message": translate("common.validation_failed", locale),
                    "errors": errors,
                }
            },
            status_code=422,
        )

    @app.exception_handler(OperationalError)
    async def database_unavailable(request: Request, exc: OperationalError) -> Response:
        # The database restarting, failing over or refusing connections is not a bug in the
        # request: say so with 503 and when to try again (hubs and pages retry), not 500.
        log.error(
            "database unavailable during %s %s: %s",
            request.method,
            request.url.path,
            database_down(exc),
        )
        return await api_error(
            request,
            ApiError(
                503,
                "database_unavailable",
                "faults.database_unavailable",
                headers={"Retry-After": str(DATABASE_RETRY_AFTER_S)},
            ),
        )
