"""Escalation policies: the built-in ones (version 0), used until a supervisor saves a
version, and the saved versions. A chain copies the version in force when its alert opens."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlmodel import Session, col, select

from server.auth.models import User
from server.errors import ApiError
from server.oncall.models import EscalationPolicy
from server.oncall.schemas import PolicyBody, PolicyStep, StepAction, Target

DEFAULT_POLICIES: dict[str, PolicyBody] = {
    "RED": PolicyBody(
        steps=(
            PolicyStep(after_seconds=0, action=StepAction.CONSOLE, target=Target.DISPATCHER),
            PolicyStep(after_seconds=60, action=StepAction.CALL, target=Target.DISPATCHER),
            PolicyStep(after_seconds=120, action=StepAction.CALL, target=Target.SUPERVISOR),
            PolicyStep(after_seconds=180, action=StepAction.CALL, target=Target.BACKUP),
            PolicyStep(after_seconds=180, action=StepAction.SMS, target=Target.TEAM),
        ),
        repeat_after_seconds=180,
        max_rounds=10,
    ),
    "YELLOW": PolicyBody(
        steps=(
            PolicyStep(after_seconds=0, action=StepAction.CONSOLE, target=Target.DISPATCHER),
            PolicyStep(after_seconds=300, action=StepAction.SMS, target=Target.DISPATCHER),
            PolicyStep(after_seconds=600, action=StepAction.SMS, target=Target.SUPERVISOR),
        ),
    ),
    "WHITE": PolicyBody(
        steps=(PolicyStep(after_seconds=0, action=StepAction.CONSOLE, target=Target.DISPATCHER),),
    ),
}
POLICY_PRIORITIES = tuple(DEFAULT_POLICIES)


@dataclass(frozen=True)
class PolicyVersion:
    priority: str
    version: int
    body: PolicyBody
    created_at: datetime | None


def policy_in_force(session: Session, *, priority: str) -> PolicyVersion | None:
    row = session.exec(
        select(EscalationPolicy)
        .where(EscalationPolicy.priority == priority)
        .order_by(col(EscalationPolicy.version).desc())
        .limit(1)
    ).first()
    if row is not None:
        return PolicyVersion(
            priority, row.version, PolicyBody.model_validate(row.body), row.created_at
        )
    default = DEFAULT_POLICIES.get(priority)
    return PolicyVersion(priority, 0, default, None) if default else None


def save_policy(
    session: Session, *, priority: str, body: PolicyBody, actor: User | None
) -> PolicyVersion:
    """A new version; alerts already running keep the version they copied."""
    if priority not in DEFAULT_POLICIES:
        raise ApiError(404, "not_found", "common.not_found")
    current = policy_in_force(session, priority=priority)
    version = (current.version if current else 0) + 1
    row = EscalationPolicy(
        priority=priority,
        version=version,
        body=body.model_dump(mode="json"),
        created_by=actor.id if actor else None,
    )
    session.add(row)
    session.flush()
    return PolicyVersion(priority, version, body, row.created_at)
