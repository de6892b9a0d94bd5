from server.alerts.lifecycle import Action
from server.auth.models import Role
from tests.server.permissions import Rule, roles

DISPATCH = roles(Role.DISPATCHER, Role.SUPERVISOR, Role.ADMIN)
READERS = DISPATCH | roles(Role.CARE_MANAGER, Role.CLINICIAN)

RULES = [
    # A phone-in emergency: the dispatch roles open an alert by hand (kind phone_call).
    Rule("POST", "/api/v1/alerts", DISPATCH),
    # Dispatchers see open alerts and those closed in the last 24 h (server/alerts/access.py).
    Rule("GET", "/api/v1/alerts", READERS),
    Rule("GET", "/api/v1/alerts/{alert_id}", READERS),
    *[Rule("POST", f"/api/v1/alerts/{{alert_id}}/{a.value}", DISPATCH) for a in Action],
    Rule("GET", "/api/v1/responders", DISPATCH),
    Rule("POST", "/api/v1/responders", roles(Role.ADMIN, Role.SUPERVISOR)),
    Rule("PATCH", "/api/v1/responders/{responder_id}", DISPATCH),
]
