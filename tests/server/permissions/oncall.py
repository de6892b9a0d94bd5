from server.auth.models import Role
from tests.server.permissions import Rule, roles

READ = roles(Role.DISPATCHER, Role.SUPERVISOR, Role.ADMIN)
MANAGE = roles(Role.SUPERVISOR, Role.ADMIN)

RULES = [
    Rule("GET", "/api/v1/oncall/now", READ),
    Rule("GET", "/api/v1/oncall/teams", READ),
    Rule("POST", "/api/v1/oncall/teams", MANAGE),
    Rule("GET", "/api/v1/oncall/teams/{team_id}/members", READ),
    Rule("POST", "/api/v1/oncall/teams/{team_id}/members", MANAGE),
    Rule("GET", "/api/v1/oncall/teams/{team_id}/shifts", READ),
    Rule("POST", "/api/v1/oncall/teams/{team_id}/shifts", MANAGE),
    Rule("DELETE", "/api/v1/oncall/teams/{team_id}/members/{member_id}", MANAGE),
    Rule("DELETE", "/api/v1/oncall/shifts/{shift_id}", MANAGE),
    Rule("POST", "/api/v1/oncall/teams/{team_id}/overrides", MANAGE),
    Rule("GET", "/api/v1/oncall/overrides", READ),
    Rule("GET", "/api/v1/oncall/policies", READ),
    Rule("GET", "/api/v1/oncall/policies/{priority}", READ),
    Rule("PUT", "/api/v1/oncall/policies/{priority}", MANAGE),
    Rule(
        "POST",
        "/api/v1/line/link-codes",
        roles(Role.ADMIN, Role.SUPERVISOR, Role.CARE_MANAGER),
        "staff who keep a contact's details make the one-time LINE code",
    ),
]
