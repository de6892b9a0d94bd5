from server.alerts.lifecycle import Action
from server.auth.models import Role
from tests.server.permissions import Rule, roles

DISPATCH = roles(Role.DISPATCHER, Role.SUPERVISOR, Role.ADMIN)
READERS = DISPATCH | roles(Role.CARE_MANAGER, Role.CLINICIAN)

RULES = [
    Rule("GET", "/api/v1/alerts", READERS),
    Rule("GET", "/api/v1/alerts/{alert_id}", READERS),
    *[Rule("POST", f"/api/v1/alerts/{{alert_id}}/{a.value}", DISPATCH) for a in Action],
    Rule("GET", "/api/v1/responders", DISPATCH),
    Rule("POST", "/api/v1/responders", roles(Role.ADMIN, Role.SUPERVISOR)),
    Rule("PATCH", "/api/v1/responders/{responder_id}", DISPATCH),
]
