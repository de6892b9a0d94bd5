"""Bodies a hostile or careless caller sends get a clear 4xx naming the field, never a 500.

Each case here was once a 500 found by generating requests from the OpenAPI schema.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable

from fastapi.testclient import TestClient
from sqlmodel import Session

from server.alerts.models import Alert, AlertStatus, Responder, ResponderStatus
from server.auth.models import Role, User
from tests.support.alerts import raise_panic_alert
from tests.support.records import make_elder

Auth = Callable[[User], dict[str, str]]


def test_dispatch_to_an_unknown_responder_is_a_422_naming_the_field(
    client: TestClient, session: Session, users: dict[Role, User], auth: Auth
) -> None:
    alert_id = raise_panic_alert(session, make_elder(session).id).alert_id
    headers = auth(users[Role.DISPATCHER])
    base = f"/api/v1/alerts/{alert_id}"
    assert client.post(f"{base}/acknowledge", json={}, headers=headers).status_code == 200
    response = client.post(
        f"{base}/dispatch", json={"responder_id": str(uuid.uuid4())}, headers=headers
    )
    assert response.status_code == 422, response.text
    detail = response.json()["detail"]
    assert detail["code"] == "unknown_reference"
    assert detail["field"] == "responder_id"
    assert detail["message"]
    session.expire_all()
    alert = session.get(Alert, alert_id)
    assert alert is not None and alert.status == AlertStatus.ACKNOWLEDGED


def test_a_responder_for_an_unknown_user_is_a_422_naming_the_field(
    client: TestClient, users: dict[Role, User], auth: Auth
) -> None:
    response = client.post(
        "/api/v1/responders",
        json={"name": "ทีม 9", "user_id": str(uuid.uuid4())},
        headers=auth(users[Role.ADMIN]),
    )
    assert response.status_code == 422, response.text
    assert response.json()["detail"]["field"] == "user_id"
    assert response.json()["detail"]["code"] == "unknown_reference"


def test_patching_a_responder_with_nulls_is_refused_and_changes_nothing(
    client: TestClient, session: Session, users: dict[Role, User], auth: Auth
) -> None:
    responder = Responder(name="ทีม 1", phone="0812345678")
    session.add(responder)
    session.commit()
    headers = auth(users[Role.DISPATCHER])
    for body in ({"status": None}, {"active": None}, {"status": None, "active": None}):
        response = client.patch(f"/api/v1/responders/{responder.id}", json=body, headers=headers)
        assert response.status_code == 422, response.text
        fields = {e["field"] for e in response.json()["detail"]["errors"]}
        assert fields == set(body)
    # A null phone is allowed (it clears the number); left-out fields stay as they were.
    response = client.patch(
        f"/api/v1/responders/{responder.id}", json={"phone": None}, headers=headers
    )
    assert response.status_code == 200, response.text
    assert response.json()["phone"] is None
    assert response.json()["status"] == ResponderStatus.AVAILABLE


def test_the_schema_documents_the_projects_error_shape(client: TestClient) -> None:
    schema = client.get("/openapi.json").json()
    assert "HTTPValidationError" not in schema["components"]["schemas"]
    patch = schema["paths"]["/api/v1/responders/{responder_id}"]["patch"]
    for status in ("401", "403", "404", "409", "422"):
        ref = patch["responses"][status]["content"]["application/json"]["schema"]["$ref"]
        assert ref.endswith("/ErrorOut"), status
    update = schema["components"]["schemas"]["ResponderUpdate"]["properties"]
    assert "anyOf" not in update["status"], "status is documented as nullable"


def test_text_the_database_cannot_store_is_a_422(
    client: TestClient, users: dict[Role, User], auth: Auth
) -> None:
    # PostgreSQL refuses a NUL character in text; SQLite stores it. Neither answers 500.
    response = client.post(
        "/api/v1/responders", json={"name": "ทีม\u00001"}, headers=auth(users[Role.ADMIN])
    )
    assert response.status_code in (201, 422), response.text
    if response.status_code == 422:
        assert response.json()["detail"]["code"] == "unstorable_value"
