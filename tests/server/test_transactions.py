"""One rule for who commits: services add and flush, the request commits once. So a change
whose audit write fails leaves nothing of itself behind, however many rows it touched."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlmodel import Session, select

from server.audit import service as audit
from server.audit.models import AuditEntry
from server.auth.models import Role, User
from server.care.models import CarePlan, Visit
from server.elders.models import Elder
from tests.support.records import make_elder


@pytest.fixture
def failing_audit(monkeypatch: pytest.MonkeyPatch) -> Callable[[str], None]:
    """`failing_audit("elder")`: every audit write about that entity raises."""

    def arm(entity: str) -> None:
        real = audit.record

        def record(session: Session, **kwargs: Any) -> AuditEntry:
            if kwargs["entity"] == entity:
                raise RuntimeError("the audit log cannot be written")
            return real(session, **kwargs)

        monkeypatch.setattr(audit, "record", record)

    return arm


@pytest.fixture
def lenient_client(app: FastAPI) -> Iterator[TestClient]:
    with TestClient(app, raise_server_exceptions=False) as client:
        yield client


def test_an_elder_edit_whose_audit_write_fails_is_not_stored(
    lenient_client: TestClient,
    session: Session,
    users: dict[Role, User],
    auth: Callable[[User], dict[str, str]],
    failing_audit: Callable[[str], None],
) -> None:
    elder = make_elder(session, phone="0811111111")
    failing_audit("elder")
    response = lenient_client.patch(
        f"/api/v1/elders/{elder.id}",
        headers=auth(users[Role.ADMIN]),
        json={"version": elder.version, "phone": "0822222222", "emergency_contacts": []},
    )
    assert response.status_code == 500
    session.expire_all()
    stored = session.get(Elder, elder.id)
    assert stored is not None
    assert (stored.phone, stored.version) == ("0811111111", 1)


def test_a_care_plan_whose_audit_write_fails_leaves_no_plan_and_no_schedule(
    lenient_client: TestClient,
    session: Session,
    users: dict[Role, User],
    auth: Callable[[User], dict[str, str]],
    failing_audit: Callable[[str], None],
) -> None:
    elder = make_elder(session, caregiver_id=users[Role.CAREGIVER].id)
    failing_audit("care_plan")
    response = lenient_client.post(
        "/api/v1/care-plans",
        headers=auth(users[Role.CARE_MANAGER]),
        json={
            "elder_id": str(elder.id),
            "goals": ["ความดันโลหิตอยู่ในเป้าหมาย"],
            "frequencies": [{"role": "caregiver", "every_days": 7}],
        },
    )
    assert response.status_code == 500
    session.expire_all()
    # The plan and the visits it scheduled are flushed before the audit row: neither may
    # outlive the failed request.
    assert session.exec(select(CarePlan)).all() == []
    assert session.exec(select(Visit)).all() == []
    assert session.exec(select(AuditEntry)).all() == []


def test_a_read_is_audited_in_the_request_that_shows_it(
    client: TestClient,
    session: Session,
    users: dict[Role, User],
    auth: Callable[[User], dict[str, str]],
) -> None:
    elder = make_elder(session)
    response = client.get(f"/api/v1/elders/{elder.id}", headers=auth(users[Role.DISPATCHER]))
    assert response.status_code == 200
    session.expire_all()
    reads = session.exec(select(AuditEntry).where(AuditEntry.action == "read")).all()
    assert [(r.entity, r.elder_id) for r in reads] == [("elder", elder.id)]
