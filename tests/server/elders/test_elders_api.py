from __future__ import annotations

from collections.abc import Callable

from fastapi.testclient import TestClient
from sqlmodel import Session, select

from server.audit.models import AuditEntry
from server.auth.models import Role, User
from tests.support.records import elder_payload, make_elder, thai_id

Auth = Callable[[User], dict[str, str]]


def test_create_read_and_audit(
    client: TestClient, session: Session, users: dict[Role, User], auth: Auth
) -> None:
    created = client.post(
        "/api/v1/elders", json=elder_payload(), headers=auth(users[Role.CARE_MANAGER])
    )
    assert created.status_code == 201, created.text
    elder = created.json()
    assert elder["adl_group"] == "home_bound"
    assert elder["national_id"].startswith("X-XXXX")  # masked for everyone but admins
    shown = client.get(f"/api/v1/elders/{elder['id']}", headers=auth(users[Role.ADMIN])).json()
    assert shown["national_id"].isdigit()
    reads = session.exec(
        select(AuditEntry).where(AuditEntry.action == "read", AuditEntry.entity == "elder")
    ).all()
    assert len(reads) == 1
    assert reads[0].actor_username == "admin" and "medications" in reads[0].fields


def test_validation_names_the_field_in_thai_and_english(
    client: TestClient, users: dict[Role, User], auth: Auth
) -> None:
    bad = elder_payload(national_id="1234567890123", adl_score=25)
    response = client.post("/api/v1/elders", json=bad, headers=auth(users[Role.ADMIN]))
    assert response.status_code == 422
    fields = {e["field"] for e in response.json()["detail"]["errors"]}
    assert {"national_id", "adl_score"} <= fields
    assert response.json()["detail"]["message"] == "ข้อมูลไม่ถูกต้อง"
    english = client.post(
        "/api/v1/elders", json=bad, headers={**auth(users[Role.ADMIN]), "Accept-Language": "en"}
    )
    assert english.json()["detail"]["message"] == "The data is not valid"


def test_malformed_json_and_oversized_body(
    client: TestClient, users: dict[Role, User], auth: Auth
) -> None:
    headers = {**auth(users[Role.ADMIN]), "Content-Type": "application/json"}
    broken = client.post("/api/v1/elders", content=b'{"first_name": ', headers=headers)
    assert broken.status_code == 422
    huge = client.post("/api/v1/elders", content=b"x" * 2_000_000, headers=headers)
    assert huge.status_code == 413
    assert huge.json()["detail"]["code"] == "body_too_large"


def test_duplicate_national_id_is_refused(
    client: TestClient, users: dict[Role, User], auth: Auth
) -> None:
    payload = elder_payload(national_id=thai_id(777))
    assert (
        client.post("/api/v1/elders", json=payload, headers=auth(users[Role.ADMIN])).status_code
        == 201
    )
    again = client.post("/api/v1/elders", json=payload, headers=auth(users[Role.ADMIN]))
    assert again.status_code == 409
    assert again.json()["detail"]["field"] == "national_id"


def test_stale_update_gets_409_with_current_record(
    client: TestClient, session: Session, users: dict[Role, User], auth: Auth
) -> None:
    elder = make_elder(session)
    url = f"/api/v1/elders/{elder.id}"
    first = client.patch(
        url, json={"version": 1, "phone": "0811111111"}, headers=auth(users[Role.CARE_MANAGER])
    )
    assert first.status_code == 200 and first.json()["version"] == 2
    stale = client.patch(
        url, json={"version": 1, "phone": "0822222222"}, headers=auth(users[Role.ADMIN])
    )
    assert stale.status_code == 409
    assert stale.json()["detail"]["current"]["phone"] == "0811111111"
    assert stale.json()["detail"]["current"]["version"] == 2


def test_volunteer_edits_only_contact_and_living_fields(
    client: TestClient, session: Session, users: dict[Role, User], auth: Auth
) -> None:
    volunteer = users[Role.VOLUNTEER]
    elder = make_elder(session, volunteer_id=volunteer.id)
    url = f"/api/v1/elders/{elder.id}"
    ok = client.patch(
        url,
        json={"version": 1, "lives_alone": False, "phone": "0833333333"},
        headers=auth(volunteer),
    )
    assert ok.status_code == 200, ok.text
    refused = client.patch(url, json={"version": 2, "medications": "x"}, headers=auth(volunteer))
    assert refused.status_code == 403
    assert refused.json()["detail"]["field"] == "medications"
    # Volunteers do not see medicines or the national ID at all.
    shown = client.get(url, headers=auth(volunteer)).json()
    assert shown["medications"] is None and shown["national_id"] is None
    assert "medications" in shown["hidden_fields"]


def test_committee_sees_no_elder_records(
    client: TestClient, session: Session, users: dict[Role, User], auth: Auth
) -> None:
    elder = make_elder(session)
    committee = auth(users[Role.COMMITTEE])
    assert client.get("/api/v1/elders", headers=committee).status_code == 403
    assert client.get(f"/api/v1/elders/{elder.id}", headers=committee).status_code == 403


def test_search_and_paging(
    client: TestClient, session: Session, users: dict[Role, User], auth: Auth
) -> None:
    for i in range(7):
        make_elder(session, first_name=f"ทองใบ{i}", community="ชุมชนดอนบน")
    make_elder(session, first_name="มาลี")
    headers = auth(users[Role.DISPATCHER])
    page = client.get("/api/v1/elders?q=ทองใบ&page_size=5&page=2", headers=headers).json()
    assert page["total"] == 7 and len(page["items"]) == 2
    assert client.get("/api/v1/elders?page_size=500", headers=headers).status_code == 422


def test_assignee_must_have_the_right_role(
    client: TestClient, session: Session, users: dict[Role, User], auth: Auth
) -> None:
    elder = make_elder(session)
    response = client.patch(
        f"/api/v1/elders/{elder.id}",
        json={"version": 1, "caregiver_id": str(users[Role.VOLUNTEER].id)},
        headers=auth(users[Role.CARE_MANAGER]),
    )
    assert response.status_code == 422
    assert response.json()["detail"]["field"] == "caregiver_id"


def test_consent_recorded_and_withdrawn(
    client: TestClient, session: Session, users: dict[Role, User], auth: Auth
) -> None:
    elder = make_elder(session)
    headers = auth(users[Role.CARE_MANAGER])
    made = client.post(
        f"/api/v1/elders/{elder.id}/consents",
        json={"given_on": "2026-10-01", "scope": ["care", "emergency"]},
        headers=headers,
    )
    assert made.status_code == 201
    withdrawn = client.post(
        f"/api/v1/elders/{elder.id}/consents/{made.json()['id']}/withdraw?on=2026-11-01",
        headers=headers,
    )
    assert withdrawn.json()["withdrawn_on"] == "2026-11-01"


def test_volunteer_change_through_the_registry_is_flagged_to_the_care_manager(
    client: TestClient, session: Session, users: dict[Role, User], auth: Auth
) -> None:
    volunteer = users[Role.VOLUNTEER]
    elder = make_elder(session, volunteer_id=volunteer.id, lives_alone=False)
    response = client.patch(
        f"/api/v1/elders/{elder.id}",
        json={"version": 1, "lives_alone": True},
        headers=auth(volunteer),
    )
    assert response.status_code == 200
    reviews = client.get("/api/v1/reviews", headers=auth(users[Role.CARE_MANAGER])).json()
    items = reviews["items"] if isinstance(reviews, dict) else reviews
    flagged = [r for r in items if r["elder_id"] == str(elder.id)]
    assert flagged and flagged[0]["detail"]["changes"]["lives_alone"] == {"from": False, "to": True}
