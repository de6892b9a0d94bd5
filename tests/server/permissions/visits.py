from server.auth.models import Role
from server.care import access
from tests.server.permissions import Rule, roles

V = "/api/v1/visits/{visit_id}"
C = "/api/v1/consults/{consult_id}"
E = "/api/v1/elders/{elder_id}"

RULES = [
    Rule("GET", "/api/v1/care-plans", access.PLAN_READERS, "scoped to assigned elders"),
    Rule("POST", "/api/v1/care-plans", access.PLAN_WRITERS),
    Rule("GET", "/api/v1/care-plans/{plan_id}", access.PLAN_READERS),
    Rule("PATCH", "/api/v1/care-plans/{plan_id}", access.PLAN_WRITERS),
    Rule("PUT", "/api/v1/care-plans/{plan_id}/targets", access.TARGET_WRITERS),
    Rule("GET", "/api/v1/visits/today", access.TODAY_READERS),
    Rule("GET", "/api/v1/visits/overdue", access.OVERDUE_READERS),
    Rule("GET", "/api/v1/visits", access.VISIT_READERS),
    Rule("POST", "/api/v1/visits", access.VISIT_WRITERS),
    Rule("GET", V, access.VISIT_READERS),
    Rule("PATCH", V, access.VISIT_WRITERS),
    Rule("POST", V + "/observations", access.VISIT_WRITERS),
    Rule("POST", V + "/notes", access.VISIT_WRITERS),
    Rule("POST", V + "/voice-notes", access.VOICE_WRITERS, "purpose=advice: clinicians only"),
    Rule("GET", V + "/voice-notes/{note_id}", access.VISIT_READERS),
    Rule("POST", E + "/observations", access.VISIT_WRITERS),
    Rule(
        "GET",
        E + "/observations",
        access.OBSERVATION_READERS,
        "dispatchers: only while an alert for the elder is open or closed < 24 h",
    ),
    Rule("GET", "/api/v1/reviews", access.REVIEWERS),
    Rule("POST", "/api/v1/reviews/{review_id}/resolve", access.REVIEW_RESOLVERS),
    Rule("GET", E + "/checkins", access.CHECKIN_READERS),
    Rule("POST", E + "/checkins", access.CHECKIN_WRITERS),
    Rule("PATCH", E + "/contact", access.CONTACT_EDITORS),
    Rule("GET", "/api/v1/consults", access.CONSULT_READERS),
    Rule("POST", "/api/v1/consults", access.CONSULT_REQUESTERS),
    Rule("GET", "/api/v1/consults/queue", access.CONSULT_READERS, "scoped to visible elders"),
    Rule("GET", C, access.CONSULT_READERS),
    Rule("GET", C + "/case", access.CONSULT_READERS),
    Rule("POST", C + "/review", access.CONSULT_ANSWERERS),
    Rule("POST", C + "/answer", access.CONSULT_ANSWERERS),
    Rule("POST", C + "/close", access.CONSULT_CLOSERS),
    Rule("POST", C + "/voice-notes", access.VOICE_WRITERS, "purpose=advice: clinicians only"),
    Rule("GET", C + "/voice-notes/{note_id}", access.CONSULT_READERS),
    Rule("POST", "/api/v1/sync", roles(Role.CAREGIVER, Role.VOLUNTEER, Role.CARE_MANAGER)),
    Rule("GET", "/api/v1/sync", roles(Role.CAREGIVER, Role.VOLUNTEER, Role.CARE_MANAGER)),
]

# Committee members never reach visits, readings or consultations.
assert all(Role.COMMITTEE not in rule.allowed for rule in RULES)
