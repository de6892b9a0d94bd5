"""`/app/`: the care app's files, with cache headers a service worker needs, and the one
API the app needs besides sync: who is signed in (and the CSRF token for its writes).

The build lives in `caregiver_app/dist/` (`make app`). Hashed files are cached for a year;
`sw.js`, the page and the manifest are always revalidated so an update is seen. Any other
path under `/app/` is the page itself (the app routes in the browser).
"""

from __future__ import annotations

import mimetypes
from pathlib import Path
from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import FileResponse, HTMLResponse, RedirectResponse, Response
from pydantic import BaseModel

from server.auth.models import Role, User
from server.auth.service import csrf_token
from server.deps import HandlerRoute, SettingsDep, require_roles
from server.i18n import Locale, translate

DIST = Path(__file__).resolve().parents[2] / "caregiver_app" / "dist"
APP_ROLES = frozenset({Role.CAREGIVER, Role.VOLUNTEER, Role.CARE_MANAGER, Role.CLINICIAN})
REVALIDATE = "no-cache"
IMMUTABLE = "public, max-age=31536000, immutable"
# Built with a content hash in the name: `app-3F2A9C1B.js`.
HASHED_DIRS = ("assets/",)

mimetypes.add_type("application/manifest+json", ".webmanifest")
mimetypes.add_type("text/javascript", ".js")

router = APIRouter(route_class=HandlerRoute, include_in_schema=False)
api = APIRouter(route_class=HandlerRoute, prefix="/api/v1/careapp", tags=["careapp"])
AppUser = Annotated[User, Depends(require_roles(*APP_ROLES))]


class AppSession(BaseModel):
    user_id: str
    username: str
    full_name: str
    role: Role
    locale: str | None
    csrf_token: str
    centre_phone: str | None
    # The caseload map's tiles: empty draws the markers on a plain background.
    map_tile_url: str
    map_tile_attribution: str


@api.get("/session")
def app_session(request: Request, settings: SettingsDep, user: AppUser) -> AppSession:
    """The signed-in person, for the app to keep offline; 401 when the session has ended."""
    cookie = request.cookies.get(settings.session_cookie, "")
    return AppSession(
        user_id=str(user.id), username=user.username, full_name=user.full_name,
        role=user.role, locale=user.locale,
        csrf_token=csrf_token(cookie, settings=settings) if cookie else "",
        centre_phone=settings.centre_phone, map_tile_url=settings.map_tile_url,
        map_tile_attribution=settings.map_tile_attribution,
    )  # fmt: skip


def _not_built(request: Request) -> Response:
    locale: Locale = getattr(request.state, "locale", "th")
    text = translate("careapp.not_built", locale)
    return HTMLResponse(f"<!doctype html><meta charset=utf-8><p>{text}</p>", status_code=503)


def _file(path: Path, rel: str) -> Response:
    cache = IMMUTABLE if rel.startswith(HASHED_DIRS) else REVALIDATE
    return FileResponse(path, headers={"Cache-Control": cache})


@router.get("/app")
def app_no_slash() -> RedirectResponse:
    # The service worker's scope is /app/: at /app a page is outside it.
    return RedirectResponse("/app/", status_code=308)


@router.get("/app/{rel:path}")
def app_file(request: Request, rel: str) -> Response:
    root = DIST
    if not (root / "index.html").is_file():
        return _not_built(request)
    if rel:
        candidate = (root / rel).resolve()
        if candidate.is_relative_to(root) and candidate.is_file():
            return _file(candidate, rel)
        if "." in rel.rsplit("/", 1)[-1]:
            # A missing file, not a page: a 404, so a bad precache entry fails loudly.
            return Response(status_code=404)
    return _file(root / "index.html", "index.html")
