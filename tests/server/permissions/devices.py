from tests.server.permissions import NONE, Rule

RULES = [
    Rule(
        "POST",
        "/api/v1/agent/events",
        NONE,
        "hub tokens only: a person's token gets 403, no token or a bad hub token 401",
    ),
]
