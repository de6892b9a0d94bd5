"""Who may call each eligibility operation.

Submitting is for the people who meet applicants (volunteers, care managers) and staff;
the committee and admins manage rounds and rubrics; only committee members vote, and of
them only the round's chair closes screening (checked in the service, not by role).
Everyone signed in may fetch a published announcement: it holds no health data.
"""

from server.auth.models import Role
from tests.server.permissions import ALL, Rule, roles

SUBMITTERS = roles(Role.ADMIN, Role.CARE_MANAGER, Role.VOLUNTEER)
MANAGERS = roles(Role.ADMIN, Role.COMMITTEE)
READERS = SUBMITTERS | MANAGERS
MEMBERS = roles(Role.COMMITTEE)
INSTALLERS = roles(Role.ADMIN, Role.SUPERVISOR, Role.CARE_MANAGER, Role.CAREGIVER)
P = "/api/v1/eligibility"

RULES = [
    Rule("GET", f"{P}/rubrics", READERS),
    Rule("POST", f"{P}/rubrics", MANAGERS),
    Rule("GET", f"{P}/rubrics/{{rubric_id}}", READERS),
    Rule("PUT", f"{P}/rubrics/{{rubric_id}}", MANAGERS),
    Rule("GET", f"{P}/rounds", READERS),
    Rule("POST", f"{P}/rounds", MANAGERS),
    Rule("GET", f"{P}/rounds/{{round_id}}", READERS),
    Rule("PATCH", f"{P}/rounds/{{round_id}}", MANAGERS),
    Rule("POST", f"{P}/rounds/{{round_id}}/open", MANAGERS),
    Rule("POST", f"{P}/rounds/{{round_id}}/close", MANAGERS),
    Rule("POST", f"{P}/rounds/{{round_id}}/rank", MANAGERS),
    Rule("POST", f"{P}/rounds/{{round_id}}/close-screening", MEMBERS, "and only the chair"),
    Rule("POST", f"{P}/rounds/{{round_id}}/approve", MANAGERS),
    Rule("POST", f"{P}/rounds/{{round_id}}/publish", MANAGERS),
    Rule("GET", f"{P}/rounds/{{round_id}}/ranking", MANAGERS),
    Rule("POST", f"{P}/rounds/{{round_id}}/applications", SUBMITTERS),
    Rule("GET", f"{P}/applications/{{application_id}}", READERS, "submitters: their own"),
    Rule("PATCH", f"{P}/applications/{{application_id}}", READERS, "submitters: own, while open"),
    Rule("GET", f"{P}/applications/{{application_id}}/scores", MANAGERS),
    Rule("POST", f"{P}/applications/{{application_id}}/decisions", MEMBERS),
    Rule("POST", f"{P}/applications/{{application_id}}/notes", MANAGERS),
    Rule("POST", f"{P}/applications/{{application_id}}/attachments", READERS),
    Rule("GET", f"{P}/applications/{{application_id}}/attachments", READERS),
    Rule("GET", f"{P}/attachments/{{attachment_id}}", READERS),
    Rule("POST", f"{P}/applications/{{application_id}}/appeals", SUBMITTERS),
    Rule("GET", f"{P}/rounds/{{round_id}}/appeals", MANAGERS),
    Rule("POST", f"{P}/appeals/{{appeal_id}}/decide", MEMBERS),
    Rule("GET", f"{P}/rounds/{{round_id}}/announcement", ALL, "published list, no health data"),
    Rule("GET", f"{P}/rounds/{{round_id}}/announcement.csv", ALL),
    Rule("GET", f"{P}/rounds/{{round_id}}/announcement.pdf", ALL),
    # Scoped like the registry: a caregiver lists and completes tasks for their elders only.
    Rule("GET", f"{P}/installation-tasks", INSTALLERS, "caregivers: their elders' tasks"),
    Rule(
        "POST",
        f"{P}/installation-tasks/{{task_id}}/complete",
        INSTALLERS,
        "caregivers: their elders' tasks",
    ),
    # A national ID already in the registry under an elder the submitter may not see.
    Rule("GET", f"{P}/rounds/{{round_id}}/held-applications", MANAGERS),
    Rule("POST", f"{P}/applications/{{application_id}}/confirm-identity", MANAGERS),
]
