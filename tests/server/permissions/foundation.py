from server.auth.models import Role
from tests.server.permissions import ALL, Rule, roles

ELDER_READERS = ALL - {Role.COMMITTEE}
ADMIN = roles(Role.ADMIN)

RULES = [
    Rule("GET", "/api/v1/health", ALL, "public: load balancers call it"),
    Rule("POST", "/api/v1/auth/token", ALL, "public: it is the login"),
    Rule("GET", "/api/v1/auth/me", ALL),
    Rule("PATCH", "/api/v1/auth/me", ALL),
    Rule("POST", "/api/v1/auth/logout", ALL, "ends the caller's own session"),
    Rule("POST", "/api/v1/auth/password", ALL, "the caller's own password"),
    Rule("GET", "/api/v1/users", ADMIN),
    Rule("POST", "/api/v1/users", ADMIN),
    Rule("PATCH", "/api/v1/users/{user_id}", ADMIN),
    Rule("GET", "/api/v1/audit", ADMIN),
    Rule("GET", "/api/v1/elders", ELDER_READERS),
    Rule("POST", "/api/v1/elders", roles(Role.ADMIN, Role.CARE_MANAGER)),
    Rule(
        "GET",
        "/api/v1/elders/{elder_id}",
        ELDER_READERS,
        "dispatchers: clinical fields only during an emergency; volunteers: never",
    ),
    Rule(
        "PATCH",
        "/api/v1/elders/{elder_id}",
        roles(Role.ADMIN, Role.CARE_MANAGER, Role.CAREGIVER, Role.VOLUNTEER),
    ),
    Rule("POST", "/api/v1/elders/{elder_id}/consents", roles(Role.ADMIN, Role.CARE_MANAGER)),
    Rule(
        "POST",
        "/api/v1/elders/{elder_id}/consents/{consent_id}/withdraw",
        roles(Role.ADMIN, Role.CARE_MANAGER),
    ),
    Rule("POST", "/api/v1/elders/{elder_id}/devices", ADMIN),
    Rule("GET", "/api/v1/devices", roles(Role.ADMIN, Role.SUPERVISOR)),
    Rule("POST", "/api/v1/devices/{device_id}/hub-token", ADMIN),
    Rule("POST", "/api/v1/hub-tokens/{token_id}/revoke", ADMIN),
]
