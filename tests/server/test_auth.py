from __future__ import annotations

from collections.abc import Callable

from fastapi.testclient import TestClient
from sqlmodel import Session, select

from server.auth import service
from server.auth.models import Role, User
from server.config import Settings
from server.devices import service as devices
from server.devices.models import Device, DeviceKind, HubToken
from tests.server.conftest import TEST_PASSWORD
from tests.support.records import make_elder


def test_token_login_and_me(client: TestClient, users: dict[Role, User]) -> None:
    response = client.post(
        "/api/v1/auth/token", data={"username": "dispatcher", "password": TEST_PASSWORD}
    )
    assert response.status_code == 200
    body = response.json()
    assert body["token_type"] == "bearer"
    me = client.get("/api/v1/auth/me", headers={"Authorization": f"Bearer {body['access_token']}"})
    assert me.json()["role"] == "dispatcher"


def test_wrong_password_then_throttled(
    client: TestClient, users: dict[Role, User], settings: Settings
) -> None:
    for _ in range(settings.login_free_failures):
        wrong = client.post("/api/v1/auth/token", data={"username": "admin", "password": "nope"})
        assert wrong.status_code == 401
        assert wrong.json()["detail"]["code"] == "login_failed"
    # The next failure earns a wait; during it even the right password is not checked.
    client.post("/api/v1/auth/token", data={"username": "admin", "password": "nope"})
    throttled = client.post(
        "/api/v1/auth/token", data={"username": "admin", "password": TEST_PASSWORD}
    )
    assert throttled.status_code == 429
    assert int(throttled.headers["Retry-After"]) >= 1
    assert "วินาที" in throttled.json()["detail"]["message"]


def test_bad_tokens_are_refused(client: TestClient, users: dict[Role, User]) -> None:
    for header in ("Bearer nonsense", "Bearer ", "Basic abc"):
        assert client.get("/api/v1/auth/me", headers={"Authorization": header}).status_code == 401


def test_token_dies_with_password_change(
    client: TestClient, users: dict[Role, User], auth: Callable[[User], dict[str, str]]
) -> None:
    headers = auth(users[Role.CAREGIVER])
    assert client.get("/api/v1/auth/me", headers=headers).status_code == 200
    client.patch(
        f"/api/v1/users/{users[Role.CAREGIVER].id}",
        json={"password": "a-new-password-1"},
        headers=auth(users[Role.ADMIN]),
    ).raise_for_status()
    assert client.get("/api/v1/auth/me", headers=headers).status_code == 401


def test_hub_token_works_only_for_its_hub_and_nowhere_else(
    client: TestClient,
    session: Session,
    users: dict[Role, User],
    auth: Callable[[User], dict[str, str]],
) -> None:
    elder = make_elder(session)
    hub = Device(elder_id=elder.id, kind=DeviceKind.HUB)
    session.add(hub)
    session.commit()
    issued = client.post(f"/api/v1/devices/{hub.id}/hub-token", headers=auth(users[Role.ADMIN]))
    assert issued.status_code == 201
    token = issued.json()["token"]
    identity = devices.authenticate_hub(session, f"Bearer {token}")
    assert identity is not None and identity.elder_id == elder.id
    # Only the hash is stored.
    stored = {row.token_hash for row in session.exec(select(HubToken)).all()}
    assert token not in stored and len(stored) == 1
    hub_headers = {"Authorization": f"Bearer {token}"}
    assert client.get("/api/v1/elders", headers=hub_headers).status_code == 401
    assert client.get("/api/v1/auth/me", headers=hub_headers).status_code == 401
    revoked = client.post(
        f"/api/v1/hub-tokens/{issued.json()['id']}/revoke", headers=auth(users[Role.ADMIN])
    )
    assert revoked.status_code == 200
    session.expire_all()
    assert devices.authenticate_hub(session, f"Bearer {token}") is None


def test_user_tokens_are_not_hub_tokens(
    session: Session, users: dict[Role, User], settings: Settings
) -> None:
    token = service.issue_token(users[Role.ADMIN], settings=settings)
    assert devices.authenticate_hub(session, f"Bearer {token}") is None
