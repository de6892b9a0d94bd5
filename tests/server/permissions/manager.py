"""The care manager's desk: caseload, review queue decisions, visits due, the record."""

from __future__ import annotations

from server.manager import access
from tests.server.permissions import Rule

M = "/api/v1/manager"

RULES = [
    Rule("GET", M + "/caseload", access.MANAGERS),
    Rule("GET", M + "/reviews", access.MANAGERS),
    Rule("POST", M + "/reviews/{review_id}/decide", access.DECIDERS),
    Rule("GET", M + "/visits", access.MANAGERS),
    Rule(
        "GET",
        M + "/elders/{elder_id}/record",
        access.MANAGERS,
        "care managers: only the elders they manage (404 otherwise)",
    ),
]
