from server.auth.models import Role
from tests.server.permissions import Rule, roles

RULES = [
    Rule(
        "GET", "/api/v1/careapp/session",
        roles(Role.CAREGIVER, Role.VOLUNTEER, Role.CARE_MANAGER, Role.CLINICIAN),
    ),
]  # fmt: skip
