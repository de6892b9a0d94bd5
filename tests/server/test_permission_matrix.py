"""Every role against every API operation: allowed roles get past the gate, others get 403.

A new endpoint without a rule in tests/server/permissions/ fails this test.
"""

from __future__ import annotations

import importlib
import pkgutil
import re
import uuid
from collections.abc import Callable

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlmodel import Session

import tests.server.permissions as permissions_pkg
from server.auth.models import Role, User
from tests.server.permissions import Rule
from tests.support.records import make_elder

PUBLIC = {("GET", "/api/v1/health"), ("POST", "/api/v1/auth/token")}


def all_rules() -> list[Rule]:
    rules: list[Rule] = []
    for module in pkgutil.iter_modules(permissions_pkg.__path__):
        rules.extend(importlib.import_module(f"{permissions_pkg.__name__}.{module.name}").RULES)
    return rules


def operations(app: FastAPI) -> set[tuple[str, str]]:
    found = set()
    for path, item in app.openapi()["paths"].items():
        for method in item:
            found.add((method.upper(), path))
    return found


def test_every_operation_has_exactly_one_rule(app: FastAPI) -> None:
    rules = all_rules()
    keys = [(r.method, r.path) for r in rules]
    duplicates = {k for k in keys if keys.count(k) > 1}
    assert not duplicates, f"rules given twice: {sorted(duplicates)}"
    missing = operations(app) - set(keys)
    assert not missing, f"operations with no permission rule: {sorted(missing)}"
    stale = set(keys) - operations(app)
    assert not stale, f"rules for operations that do not exist: {sorted(stale)}"


def test_permission_matrix(
    app: FastAPI,
    client: TestClient,
    session: Session,
    users: dict[Role, User],
    auth: Callable[[User], dict[str, str]],
) -> None:
    elder = make_elder(
        session, caregiver_id=users[Role.CAREGIVER].id, volunteer_id=users[Role.VOLUNTEER].id
    )
    failures: list[str] = []
    for rule in all_rules():
        path = re.sub(r"\{elder_id\}", str(elder.id), rule.path)
        path = re.sub(r"\{[a-z_]+\}", str(uuid.uuid4()), path)
        # Anonymous callers never get past a gate, except on the public operations.
        anonymous = client.request(rule.method, path, json={})
        if (rule.method, rule.path) not in PUBLIC and anonymous.status_code != 401:
            failures.append(f"anonymous {rule.method} {rule.path}: {anonymous.status_code}")
        for role, user in users.items():
            response = client.request(rule.method, path, json={}, headers=auth(user))
            allowed = role in rule.allowed
            if allowed and response.status_code in (401, 403):
                failures.append(f"{role} denied {rule.method} {rule.path}: {response.text[:120]}")
            if not allowed and response.status_code != 403:
                failures.append(
                    f"{role} not denied {rule.method} {rule.path}: {response.status_code}"
                )
    assert not failures, "\n".join(failures)


@pytest.mark.parametrize("role", [Role.CAREGIVER, Role.VOLUNTEER])
def test_assigned_roles_do_not_see_other_elders(
    client: TestClient,
    session: Session,
    users: dict[Role, User],
    auth: Callable[[User], dict[str, str]],
    role: Role,
) -> None:
    other = make_elder(session)
    response = client.get(f"/api/v1/elders/{other.id}", headers=auth(users[role]))
    assert response.status_code == 404
    listing = client.get("/api/v1/elders", headers=auth(users[role])).json()
    assert all(item["id"] != str(other.id) for item in listing["items"])
