"""The permission matrix, one module per domain.

Each module defines `RULES`: every API operation with the roles allowed to call it. The
matrix test fails for any operation without a rule, so no endpoint ships without a decision.
"""

from __future__ import annotations

from dataclasses import dataclass

from server.auth.models import Role

ALL = frozenset(Role)
NONE: frozenset[Role] = frozenset()


@dataclass(frozen=True)
class Rule:
    method: str
    path: str  # as in the OpenAPI schema, e.g. "/api/v1/elders/{elder_id}"
    allowed: frozenset[Role]
    # Roles allowed by role but scoped to their assignments: they must reach the handler
    # for an elder assigned to them (the matrix uses one assigned to the test users).
    note: str = ""


def roles(*names: Role) -> frozenset[Role]:
    return frozenset(names)
