from __future__ import annotations

import uuid
from datetime import datetime

from fastapi import APIRouter, Query

from server.audit import service
from server.audit.models import AuditEntry
from server.common.paging import MAX_OFFSET
from server.deps import AdminUser, HandlerRoute, SessionDep

router = APIRouter(route_class=HandlerRoute, prefix="/api/v1/audit", tags=["audit"])


@router.get("")
def list_audit(
    session: SessionDep,
    _admin: AdminUser,
    elder_id: uuid.UUID | None = None,
    actor_id: uuid.UUID | None = None,
    action: str | None = None,
    entity: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    limit: int = Query(default=100, ge=1, le=1000),
    offset: int = Query(default=0, ge=0, le=MAX_OFFSET),
) -> list[AuditEntry]:
    return service.search(
        session,
        elder_id=elder_id,
        actor_id=actor_id,
        action=action,
        entity=entity,
        since=since,
        until=until,
        limit=limit,
        offset=offset,
    )
