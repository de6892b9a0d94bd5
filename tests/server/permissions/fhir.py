from server.auth.models import Role
from tests.server.permissions import Rule, roles

RULES = [
    Rule("GET", f"/fhir/{kind}", roles(Role.ADMIN), "data export for City Data")
    for kind in ("Patient", "Observation", "Encounter", "Flag")
] + [
    Rule("GET", "/fhir/$export", roles(Role.ADMIN), "bulk data kick-off"),
    Rule("GET", "/fhir/$export-status/{job_id}", roles(Role.ADMIN), "404 unless the caller's own"),
    Rule("DELETE", "/fhir/$export-status/{job_id}", roles(Role.ADMIN), "cancel: 404 unless own"),
    Rule("GET", "/fhir/$export-file/{job_id}/{resource_type}.ndjson", roles(Role.ADMIN)),
]
