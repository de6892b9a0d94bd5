from server.auth.models import Role
from tests.server.permissions import Rule, roles

READERS = roles(Role.ADMIN, Role.SUPERVISOR)
SURVEY_TAKERS = roles(
    Role.ADMIN, Role.SUPERVISOR, Role.DISPATCHER, Role.CARE_MANAGER, Role.CAREGIVER,
    Role.VOLUNTEER, Role.CLINICIAN,
)  # fmt: skip

RULES = [
    Rule("GET", "/api/v1/reports/response", READERS),
    Rule("GET", "/api/v1/reports/care", READERS),
    Rule("GET", "/api/v1/reports/programme", READERS),
    Rule("GET", "/api/v1/reports/satisfaction", READERS),
    Rule("GET", "/api/v1/reports/export.{fmt}", READERS),
    Rule("GET", "/api/v1/reports/monthly.pdf", READERS),
    Rule(
        "POST",
        "/api/v1/reports/surveys",
        SURVEY_TAKERS,
        "alert surveys: admin, supervisor, dispatcher; visit surveys: care roles (422 here)",
    ),
]

RULES.append(
    Rule(
        "POST",
        "/api/v1/reports/surveys/links",
        SURVEY_TAKERS,
        "same subject and role checks as recording (422 here)",
    )
)
