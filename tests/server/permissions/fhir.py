from server.auth.models import Role
from tests.server.permissions import Rule, roles

RULES = [
    Rule("GET", f"/fhir/{kind}", roles(Role.ADMIN), "data export for City Data")
    for kind in ("Patient", "Observation", "Encounter", "Flag")
]
