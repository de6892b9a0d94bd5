"""A clinician sees the elders whose care team asked them a question, or whose care plan has
clinicians visit; not the rest of the registry (least access, PDPA)."""

from __future__ import annotations

from collections.abc import Callable

from fastapi.testclient import TestClient
from sqlmodel import Session

from server.auth.models import Role, User
from server.care.models import Consult, ConsultUrgency, Visit, VisitRole
from server.common.time import utcnow
from tests.support.records import make_elder


def test_a_clinician_sees_only_elders_with_a_consultation_or_a_clinician_visit(
    client: TestClient,
    session: Session,
    users: dict[Role, User],
    make_user: Callable[..., User],
    auth: Callable[[User], dict[str, str]],
) -> None:
    clinician, other = users[Role.CLINICIAN], make_user(Role.CLINICIAN)
    asked, visited, theirs, unrelated = (make_elder(session) for _ in range(4))
    session.add(Consult(elder_id=asked.id, question="ความดันสูง", urgency=ConsultUrgency.SOON))
    session.add(Visit(elder_id=visited.id, role=VisitRole.CLINICIAN, planned_at=utcnow()))
    session.add(
        Visit(
            elder_id=theirs.id, role=VisitRole.CLINICIAN, planned_at=utcnow(), assigned_to=other.id
        )
    )
    session.commit()

    headers = auth(clinician)
    listed = client.get("/api/v1/elders", params={"page_size": 100}, headers=headers).json()
    assert {e["id"] for e in listed["items"]} == {str(asked.id), str(visited.id)}
    for elder in (asked, visited):
        assert client.get(f"/api/v1/elders/{elder.id}", headers=headers).status_code == 200
        observations = client.get(f"/api/v1/elders/{elder.id}/observations", headers=headers)
        assert observations.status_code == 200
    for elder in (theirs, unrelated):
        # The same answer as for an elder that does not exist.
        assert client.get(f"/api/v1/elders/{elder.id}", headers=headers).status_code == 404
        observations = client.get(f"/api/v1/elders/{elder.id}/observations", headers=headers)
        assert observations.status_code == 404
    # The one the visit is assigned to sees that elder.
    mine = client.get(f"/api/v1/elders/{theirs.id}", headers=auth(other))
    assert mine.status_code == 200
    # A care manager still sees the whole registry.
    everyone = client.get(
        "/api/v1/elders", params={"page_size": 100}, headers=auth(users[Role.CARE_MANAGER])
    ).json()
    assert {str(e.id) for e in (asked, visited, theirs, unrelated)} <= {
        e["id"] for e in everyone["items"]
    }
