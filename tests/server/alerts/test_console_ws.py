"""The console WebSocket: snapshot on connect, every committed change, across processes."""

from __future__ import annotations

import json
import time
from typing import Any

import pytest
from sqlmodel import Session
from websockets.exceptions import InvalidStatus
from websockets.sync.client import ClientConnection, connect

from server.auth.models import Role, User
from server.auth.service import issue_token
from server.config import Settings
from tests.server.alerts.helpers import panic
from tests.server.alerts.procs import servers
from tests.server.factories import make_elder


def _ws(base_url: str, cookie: str | None, origin: str | None = None) -> ClientConnection:
    headers = {"Cookie": f"eldercare_session={cookie}"} if cookie else {}
    return connect(
        base_url.replace("http://", "ws://") + "/api/v1/console/ws",
        additional_headers=headers,
        origin=origin,
        open_timeout=10,  # type: ignore[arg-type]
    )


def _until(ws: ClientConnection, check: Any, timeout: float = 10) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        msg = json.loads(ws.recv(timeout=max(0.1, deadline - time.monotonic())))
        if msg["type"] == "snapshot" and check(msg):
            return msg  # type: ignore[no-any-return]
    raise AssertionError("the console never saw the change")


def test_console_gets_a_snapshot_then_each_committed_change(
    live_url: str, session: Session, users: dict[Role, User], settings: Settings
) -> None:
    elder = make_elder(session)
    cookie = issue_token(users[Role.DISPATCHER], settings=settings, purpose="session")
    with _ws(live_url, cookie) as ws:
        first = _until(ws, lambda m: True)
        assert first["alerts"] == []
        raised = panic(session, elder.id)
        msg = _until(ws, lambda m: any(a["id"] == str(raised.alert_id) for a in m["alerts"]))
        alert = msg["alerts"][0]
        assert alert["alarm"] is True and alert["status"] == "new"
        assert str(raised.alert_id) in msg["changed"]


def test_a_rolled_back_change_reaches_no_console(
    live_url: str, session: Session, users: dict[Role, User], settings: Settings
) -> None:
    elder = make_elder(session)
    cookie = issue_token(users[Role.DISPATCHER], settings=settings, purpose="session")
    with _ws(live_url, cookie) as ws:
        _until(ws, lambda m: True)
        panic(session, elder.id, commit=False)
        session.rollback()
        with pytest.raises(TimeoutError):
            _until(ws, lambda m: bool(m["alerts"]), timeout=1.5)


@pytest.mark.parametrize(
    ("role", "cookie_ok", "origin", "code"),
    [
        (Role.CAREGIVER, True, None, 4403),
        (Role.DISPATCHER, False, None, 4401),
        (Role.DISPATCHER, True, "http://evil.example", 1008),
    ],
)
def test_console_refuses_the_wrong_people(
    live_url: str,
    users: dict[Role, User],
    settings: Settings,
    role: Role,
    cookie_ok: bool,
    origin: str | None,
    code: int,
) -> None:
    cookie = issue_token(users[role], settings=settings, purpose="session") if cookie_ok else "x"
    try:
        with _ws(live_url, cookie, origin) as ws:
            ws.recv(timeout=5)
    except InvalidStatus:
        return  # refused at the handshake: also fine
    except Exception as exc:
        assert getattr(exc, "rcvd", None) is not None and exc.rcvd.code == code  # type: ignore[attr-defined]
        return
    raise AssertionError("the console let them in")


@pytest.mark.slow
def test_an_action_through_process_a_reaches_a_console_on_process_b(
    db_url: str, session: Session, users: dict[Role, User], settings: Settings
) -> None:
    if not db_url.startswith("postgresql"):
        pytest.skip("several server processes share a database on PostgreSQL only")
    import httpx

    elder = make_elder(session)
    raised = panic(session, elder.id)
    cookie = issue_token(users[Role.DISPATCHER], settings=settings, purpose="session")
    token = issue_token(users[Role.SUPERVISOR], settings=settings)
    with servers(db_url, 2) as (a, b), _ws(b, cookie) as ws:
        _until(ws, lambda m: any(x["id"] == str(raised.alert_id) for x in m["alerts"]))
        response = httpx.post(
            f"{a}/api/v1/alerts/{raised.alert_id}/acknowledge",
            json={"note": "รับแล้ว"},
            headers={"Authorization": f"Bearer {token}"},
            timeout=10,
        )
        assert response.status_code == 200, response.text
        msg = _until(ws, lambda m: m["alerts"][0]["status"] == "acknowledged")
        assert msg["alerts"][0]["acknowledged_by_name"] == users[Role.SUPERVISOR].full_name
        # And a raise committed by a third party (this test) reaches it too.
        other = panic(session, make_elder(session).id)
        _until(ws, lambda m: any(x["id"] == str(other.alert_id) for x in m["alerts"]))
