"""The OpenAPI schema tells the truth: schemathesis against a live server, as every role.

Requests are generated from the schema itself (a few per operation, so CI can afford it)
against the demo municipality, on SQLite and PostgreSQL. Every answer must be no 5xx, carry
a status code the operation documents, and match the schema documented for that status.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

import pytest
import schemathesis
from fastapi import FastAPI
from hypothesis import HealthCheck, Phase, given, settings
from schemathesis.checks import not_a_server_error
from schemathesis.core.failures import FailureGroup
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)
from sqlmodel import Session, select

from server.auth.models import Role, User
from server.auth.service import issue_token
from server.config import Settings
from server.seed import seed_demo
from tests.server.test_permission_matrix import all_rules
from tests.support.live import serve

CHECKS = [
    not_a_server_error,
    status_code_conformance,
    response_schema_conformance,
    content_type_conformance,
]
# Per operation and role: CI size (the first runs used 25 per operation, as admin only).
EXAMPLES_ALLOWED = 3
EXAMPLES_DENIED = 1
# Operations a fuzzer must not call with a live token: they end the very session it uses
# (each operation gets a fresh token anyway, so the rest of the run is unaffected).
SKIPPED: set[tuple[str, str]] = set()


@dataclass
class Findings:
    requests: int = 0
    failures: dict[str, list[str]] = field(default_factory=dict)

    def add(self, key: str, message: str) -> None:
        self.failures.setdefault(key, []).append(message)


@pytest.fixture
def demo(app: FastAPI, settings: Settings) -> Iterator[str]:
    with Session(app.state.engine) as session:
        seed_demo(session, settings=settings, elders=12)
        session.commit()
    with serve(app) as url:
        yield url


def _token(app: FastAPI, settings: Settings, role: Role) -> dict[str, str]:
    with Session(app.state.engine) as session:
        user = session.exec(select(User).where(User.username == role.value)).one()
        token = issue_token(session, user, settings=settings)
        session.commit()
    return {"Authorization": f"Bearer {token}"}


def examples_by_rule(allowed: int, denied: int) -> Callable[[Role, str, str], int]:
    """Examples for one role on one operation: a role the permission matrix denies only
    needs to see its documented 403, so it gets fewer."""
    rules = {(r.method, r.path): r.allowed for r in all_rules()}

    def count(role: Role, method: str, path: str) -> int:
        allowed_roles = rules.get((method, path))
        return allowed if allowed_roles is None or role in allowed_roles else denied

    return count


def fuzz(
    app: FastAPI,
    settings: Settings,
    base_url: str,
    roles: list[Role],
    examples: Callable[[Role, str, str], int],
) -> Findings:
    schema = schemathesis.openapi.from_dict(app.openapi())
    findings = Findings()
    for result in schema.get_all_operations():
        operation = result.ok()
        key = f"{operation.method.upper()} {operation.path}"
        if (operation.method.upper(), operation.path) in SKIPPED:
            continue
        strategy = operation.as_strategy()
        for role in roles:
            count = examples(role, operation.method.upper(), operation.path)
            headers = _token(app, settings, role)
            _probe(findings, key, role, strategy, base_url, headers, count)
    return findings


def _probe(
    findings: Findings,
    key: str,
    role: Role,
    strategy: object,
    base_url: str,
    headers: dict[str, str],
    examples: int,
) -> None:
    @settings_for(examples)
    @given(case=strategy)
    def probe(case: schemathesis.Case) -> None:
        findings.requests += 1
        case.call_and_validate(base_url=base_url, headers=headers, checks=CHECKS)

    try:
        probe()
    except FailureGroup as exc:  # a BaseExceptionGroup: hypothesis re-raises it
        findings.add(key, f"as {role}: {str(exc)[:600]}")


def settings_for(examples: int):  # type: ignore[no-untyped-def]
    return settings(
        max_examples=examples,
        deadline=None,
        database=None,
        derandomize=True,
        phases=[Phase.explicit, Phase.generate],
        suppress_health_check=list(HealthCheck),
    )


@pytest.mark.slow
def test_every_operation_keeps_its_schema_for_every_role(
    app: FastAPI, settings: Settings, demo: str
) -> None:
    started = time.monotonic()
    examples = examples_by_rule(EXAMPLES_ALLOWED, EXAMPLES_DENIED)
    findings = fuzz(app, settings, demo, list(Role), examples)
    elapsed = time.monotonic() - started
    report = "\n".join(
        f"{key}:\n  " + "\n  ".join(sorted(set(messages))[:3])
        for key, messages in sorted(findings.failures.items())
    )
    print(f"{findings.requests} requests in {elapsed:.0f} s")
    assert not findings.failures, f"{len(findings.failures)} operations failed:\n{report}"
