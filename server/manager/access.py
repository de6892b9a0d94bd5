"""Whose elders a care manager works with: the ones they manage. Admins and supervisors see
every caseload. A care manager may still open any elder through the registry (their role
sees all); these screens keep to their own caseload, the least access the work needs."""

from __future__ import annotations

import uuid
from typing import Any

from sqlmodel import Session, select

from server.auth.models import Role, User
from server.elders.models import Elder, ElderStatus
from server.errors import ApiError

MANAGERS = frozenset({Role.ADMIN, Role.SUPERVISOR, Role.CARE_MANAGER})
DECIDERS = frozenset({Role.ADMIN, Role.CARE_MANAGER})
# Elders who have left the programme are not on anyone's caseload.
ACTIVE = (ElderStatus.APPLICANT, ElderStatus.ENROLLED, ElderStatus.PAUSED)


def caseload_query(user: User) -> Any:
    """The ids of the elders on `user`'s caseload, as a subquery other queries filter on."""
    query = select(Elder.id).where(Elder.status.in_(ACTIVE))  # type: ignore[attr-defined]
    if user.role == Role.CARE_MANAGER:
        query = query.where(Elder.care_manager_id == user.id)
    return query


def managed_elder(session: Session, *, user: User, elder_id: uuid.UUID) -> Elder:
    """The elder if on `user`'s caseload, else 404 (the same answer as "does not exist")."""
    elder = session.get(Elder, elder_id)
    if elder is None or (user.role == Role.CARE_MANAGER and elder.care_manager_id != user.id):
        raise ApiError(404, "not_found", "common.not_found")
    return elder
