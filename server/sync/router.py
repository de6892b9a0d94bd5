"""`POST /api/v1/sync` (records made offline) and `GET /api/v1/sync` (changes since a cursor)."""

from __future__ import annotations

import gzip
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request, Response

from server.auth.models import User
from server.care import access
from server.care.schemas import SyncPullOut, SyncPush, SyncPushOut
from server.deps import HandlerRoute, LocaleDep, RequestId, SessionDep, require_roles
from server.sync import pull as sync_pull
from server.sync import push as sync_push

router = APIRouter(route_class=HandlerRoute, prefix="/api/v1", tags=["visits"])

SyncUser = Annotated[User, Depends(require_roles(*access.SYNC_USERS))]
# A first pull is megabytes of JSON that compresses about tenfold; level 1 costs the
# server least per byte saved, and a tablet on a mobile network needs the bytes saved.
GZIP_FROM_BYTES = 4096
GZIP_LEVEL = 1


@router.post("/sync")
def sync_push_batch(
    body: SyncPush, session: SessionDep, user: SyncUser, locale: LocaleDep, rid: RequestId
) -> SyncPushOut:
    return sync_push.push(session, user=user, records=body.records, locale=locale, request_id=rid)


@router.get("/sync", response_model=SyncPullOut)
def sync_pull_changes(
    request: Request,
    session: SessionDep,
    user: SyncUser,
    rid: RequestId,
    since: Annotated[str | None, Query(max_length=200)] = None,
) -> Response:
    held = sync_pull.record_access(session, user=user)
    # Its own commit: a grant or revocation takes the sync counter, whose lock would
    # otherwise be held through the whole read, stalling every writer behind this pull.
    session.commit()
    pulled = sync_pull.pull(session, user=user, held=held, since=since, request_id=rid)
    # Written once from plain rows (already in `SyncPullOut`'s shape), not validated and
    # encoded again by the framework: for a year of readings that was most of the time.
    body = pulled.to_json()
    headers = {"Vary": "Accept-Encoding"}
    if len(body) >= GZIP_FROM_BYTES and _accepts_gzip(request.headers.get("accept-encoding", "")):
        body = gzip.compress(body, compresslevel=GZIP_LEVEL, mtime=0)
        headers["Content-Encoding"] = "gzip"
    return Response(body, media_type="application/json", headers=headers)


def _accepts_gzip(header: str) -> bool:
    for part in header.split(","):
        name, _, params = part.strip().partition(";")
        if name.strip().lower() in ("gzip", "*"):
            return params.replace(" ", "").lower() not in ("q=0", "q=0.0", "q=0.00", "q=0.000")
    return False
