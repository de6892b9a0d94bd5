"""Sessions end when they should (logout, password, deactivation, role change), logins are
throttled by address and not by name alone, and a missing username costs the same time."""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlmodel import Session, select

from server.auth import service
from server.auth.models import AuthSession, Role, User
from server.auth.service import csrf_token
from server.config import Settings
from server.i18n import translate
from tests.server.conftest import TEST_PASSWORD
from tests.support.records import make_elder, token_for

Auth = Callable[[User], dict[str, str]]


def _login(client: TestClient, username: str, password: str = TEST_PASSWORD) -> dict[str, str]:
    reply = client.post("/api/v1/auth/token", data={"username": username, "password": password})
    assert reply.status_code == 200, reply.text
    return {"Authorization": f"Bearer {reply.json()['access_token']}"}


def test_api_logout_ends_that_token_only(client: TestClient, users: dict[Role, User]) -> None:
    first = _login(client, "dispatcher")
    second = _login(client, "dispatcher")
    assert client.post("/api/v1/auth/logout", headers=first).status_code == 200
    assert client.get("/api/v1/auth/me", headers=first).status_code == 401
    assert client.get("/api/v1/auth/me", headers=second).status_code == 200


def test_browser_logout_ends_the_session_on_the_server(
    client: TestClient, session: Session, users: dict[Role, User], settings: Settings
) -> None:
    cookie = token_for(session, users[Role.CARE_MANAGER], settings=settings, purpose="session")
    jar = {settings.session_cookie: cookie}
    client.cookies.update(jar)
    assert client.get("/api/v1/auth/me").status_code == 200
    out = client.post("/logout", data={"csrf_token": csrf_token(cookie, settings=settings)},
                      follow_redirects=False)  # fmt: skip
    assert out.status_code == 303
    # A copy of the old cookie (kept by an attacker, or a shared computer) no longer works.
    client.cookies.clear()
    client.cookies.update(jar)
    assert client.get("/api/v1/auth/me").status_code == 401
    row = session.exec(select(AuthSession).where(AuthSession.purpose == "session")).one()
    assert row.revoked_at is not None and row.revoked_reason == "logout"


@pytest.mark.parametrize(
    "change", [{"active": False}, {"role": "caregiver"}, {"password": "a-fresh-passphrase-7"}]
)
def test_deactivation_role_and_password_changes_end_every_session(
    client: TestClient, users: dict[Role, User], auth: Auth, change: dict[str, object]
) -> None:
    headers = _login(client, "dispatcher")
    assert client.get("/api/v1/auth/me", headers=headers).status_code == 200
    admin = auth(users[Role.ADMIN])
    target = users[Role.DISPATCHER].id
    assert client.patch(f"/api/v1/users/{target}", json=change, headers=admin).status_code == 200
    assert client.get("/api/v1/auth/me", headers=headers).status_code == 401
    if change == {"active": False}:
        # Re-activating does not bring the old session back.
        client.patch(f"/api/v1/users/{target}", json={"active": True}, headers=admin)
        assert client.get("/api/v1/auth/me", headers=headers).status_code == 401


def test_changing_ones_own_password(client: TestClient, users: dict[Role, User]) -> None:
    headers = _login(client, "caregiver")
    url = "/api/v1/auth/password"
    wrong = client.post(url, headers=headers,
                        json={"current_password": "nope", "new_password": "another-pass-99"})  # fmt: skip
    assert wrong.status_code == 403
    for weak, key in (("password123", "too_common"), ("caregiver-2026", "contains_username"),
                      ("12345678", "too_common")):  # fmt: skip
        refused = client.post(url, headers=headers,
                              json={"current_password": TEST_PASSWORD, "new_password": weak})  # fmt: skip
        assert refused.status_code == 422, weak
        assert refused.json()["detail"]["field"] == "new_password"
        assert refused.json()["detail"]["message"] == translate(f"security.password.{key}", "th")
    ok = client.post(url, headers=headers,
                     json={"current_password": TEST_PASSWORD, "new_password": "river-lamp-4821"})  # fmt: skip
    assert ok.status_code == 200
    assert client.get("/api/v1/auth/me", headers=headers).status_code == 401
    _login(client, "caregiver", "river-lamp-4821")


def test_admins_cannot_set_a_common_password(
    client: TestClient, users: dict[Role, User], auth: Auth
) -> None:
    made = client.post("/api/v1/users", headers=auth(users[Role.ADMIN]), json={
        "username": "newbie", "password": "qwerty123", "full_name": "ใหม่", "role": "volunteer"})  # fmt: skip
    assert made.status_code == 422 and made.json()["detail"]["code"] == "weak_password"


def test_the_password_page(
    client: TestClient, session: Session, users: dict[Role, User], settings: Settings
) -> None:
    cookie = token_for(session, users[Role.VOLUNTEER], settings=settings, purpose="session")
    client.cookies.update({settings.session_cookie: cookie})
    page = client.get("/account/password", headers={"accept": "text/html"})
    assert page.status_code == 200 and 'name="new_password"' in page.text
    form = {"csrf_token": csrf_token(cookie, settings=settings), "current_password": TEST_PASSWORD}
    mismatch = client.post("/account/password", headers={"accept": "text/html"},
                           data={**form, "new_password": "lotus-fan-3377", "confirm_password": "x"})  # fmt: skip
    assert mismatch.status_code == 422
    done = client.post("/account/password", headers={"accept": "text/html"}, follow_redirects=False,
                       data={**form, "new_password": "lotus-fan-3377",
                             "confirm_password": "lotus-fan-3377"})  # fmt: skip
    assert done.status_code == 303 and done.headers["location"].startswith("/login")
    client.cookies.clear()
    client.cookies.update({settings.session_cookie: cookie})
    assert client.get("/api/v1/auth/me").status_code == 401


def _from(app: FastAPI, ip: str) -> TestClient:
    return TestClient(app, client=(ip, 40000))


def test_an_attack_on_a_name_does_not_lock_out_its_owner(
    app: FastAPI, users: dict[Role, User], settings: Settings
) -> None:
    attacker, dispatcher = _from(app, "203.0.113.9"), _from(app, "10.1.2.3")
    for _ in range(settings.login_free_failures + 3):
        attacker.post("/api/v1/auth/token", data={"username": "dispatcher", "password": "guess"})
    # The attacker's address is slowed down, even with the right password...
    slowed = attacker.post(
        "/api/v1/auth/token", data={"username": "dispatcher", "password": TEST_PASSWORD}
    )
    assert slowed.status_code == 429
    # ...while the dispatcher, from the centre's own address, logs in at once.
    ok = dispatcher.post(
        "/api/v1/auth/token", data={"username": "dispatcher", "password": TEST_PASSWORD}
    )
    assert ok.status_code == 200


def test_spraying_many_names_from_one_address_is_throttled(
    app: FastAPI, users: dict[Role, User], settings: Settings
) -> None:
    sprayer = _from(app, "198.51.100.7")
    names = [f"user{i}" for i in range(settings.login_free_failures_per_address + 2)]
    codes = [
        sprayer.post("/api/v1/auth/token", data={"username": n, "password": "123456"}).status_code
        for n in names
    ]
    assert codes[0] == 401 and codes[-1] == 429
    # The right password for a real account from that address also waits.
    again = sprayer.post(
        "/api/v1/auth/token", data={"username": "admin", "password": TEST_PASSWORD}
    )
    assert again.status_code == 429
    assert (
        _from(app, "10.9.9.9")
        .post("/api/v1/auth/token", data={"username": "admin", "password": TEST_PASSWORD})
        .status_code
        == 200
    )


def test_a_missing_username_costs_a_password_check(
    session: Session, users: dict[Role, User], settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    checked: list[str] = []
    real = service.verify_password

    def counting(password_hash: str, password: str) -> bool:
        checked.append(password_hash)
        return real(password_hash, password)

    monkeypatch.setattr(service, "verify_password", counting)
    result = service.authenticate(session, username="nobody-here", password="x" * 10,
                                  ip="192.0.2.1", settings=settings)  # fmt: skip
    assert result.user is None and len(checked) == 1

    def timed(username: str) -> float:
        started = time.perf_counter()
        service.authenticate(session, username=username, password="wrong-password",
                             ip="192.0.2.2", settings=settings)  # fmt: skip
        return time.perf_counter() - started

    missing = statistics.median(timed(f"ghost{i}") for i in range(3))
    real_user = statistics.median(timed("clinician") for _ in range(3))
    # Before the fix a missing user answered in a fifth of the time; now both run argon2.
    assert missing > 0.5 * real_user, (missing, real_user)


def test_the_console_socket_closes_when_its_session_ends(
    live_url: str, session: Session, users: dict[Role, User], settings: Settings,
    monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    import json

    from websockets.sync.client import connect

    import server.alerts.ui as console

    monkeypatch.setattr(console, "RECHECK_SECONDS", 0.3)
    make_elder(session)
    dispatcher = users[Role.DISPATCHER]
    cookie = token_for(session, dispatcher, settings=settings, purpose="session")
    with connect(
        live_url.replace("http://", "ws://") + "/api/v1/console/ws",
        additional_headers={"Cookie": f"{settings.session_cookie}={cookie}"},
        open_timeout=10,  # type: ignore[arg-type]
    ) as ws:
        assert json.loads(ws.recv(timeout=10))["type"] == "snapshot"
        dispatcher.active = False
        session.add(dispatcher)
        session.commit()
        deadline = time.monotonic() + 15
        code = None
        while time.monotonic() < deadline:
            try:
                ws.recv(timeout=1)
            except TimeoutError:
                continue
            except Exception as exc:  # the close frame
                code = getattr(getattr(exc, "rcvd", None), "code", None)
                break
        assert code == 1008


def test_old_login_records_are_pruned(session: Session, users: dict[Role, User]) -> None:
    from datetime import timedelta

    from server.auth.models import LoginAttempt
    from server.common.time import utcnow

    old = utcnow() - timedelta(days=120)
    session.add(LoginAttempt(username="x", ip="192.0.2.9", success=False, at=old))
    session.add(LoginAttempt(username="x", ip="192.0.2.9", success=False))
    session.add(AuthSession(user_id=users[Role.ADMIN].id, purpose="api", created_at=old,
                            expires_at=old + timedelta(hours=12)))  # fmt: skip
    session.add(AuthSession(user_id=users[Role.ADMIN].id, purpose="api",
                            expires_at=utcnow() + timedelta(hours=12)))  # fmt: skip
    session.commit()
    assert service.prune_auth_records(session, keep_days=90) == (1, 1)
    session.commit()
    assert len(session.exec(select(LoginAttempt)).all()) == 1
    assert len(session.exec(select(AuthSession)).all()) == 1
