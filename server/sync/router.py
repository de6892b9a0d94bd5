"""`POST /api/v1/sync` (records made offline) and `GET /api/v1/sync` (changes since a cursor)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query

from server.auth.models import User
from server.care import access
from server.care.schemas import SyncPullOut, SyncPush, SyncPushOut
from server.deps import LocaleDep, RequestId, SessionDep, require_roles
from server.sync import pull as sync_pull
from server.sync import push as sync_push

router = APIRouter(prefix="/api/v1", tags=["visits"])

SyncUser = Annotated[User, Depends(require_roles(*access.SYNC_USERS))]


@router.post("/sync")
def sync_push_batch(
    body: SyncPush, session: SessionDep, user: SyncUser, locale: LocaleDep, rid: RequestId
) -> SyncPushOut:
    return sync_push.push(session, user=user, records=body.records, locale=locale, request_id=rid)


@router.get("/sync")
def sync_pull_changes(
    session: SessionDep,
    user: SyncUser,
    rid: RequestId,
    since: Annotated[str | None, Query(max_length=200)] = None,
) -> SyncPullOut:
    held = sync_pull.record_access(session, user=user)
    # Its own commit: a grant or revocation takes the sync counter, whose lock would
    # otherwise be held through the whole read, stalling every writer behind this pull.
    session.commit()
    return sync_pull.pull(session, user=user, held=held, since=since, request_id=rid)
