"""The console WebSocket: snapshot on connect, every committed change, across processes."""

from __future__ import annotations

import json
import time
from typing import Any

import pytest
from sqlmodel import Session
from websockets.exceptions import InvalidStatus
from websockets.sync.client import ClientConnection, connect

from server.alerts.lifecycle import Action
from server.alerts.service import transition
from server.auth.models import Role, User
from server.auth.service import issue_token
from server.config import Settings
from server.realtime import RESYNC, hub_for, hub_key
from tests.server.alerts.procs import servers
from tests.support.alerts import raise_panic_alert
from tests.support.records import make_elder


def _ws(base_url: str, cookie: str | None, origin: str | None = None) -> ClientConnection:
    headers = {"Cookie": f"eldercare_session={cookie}"} if cookie else {}
    return connect(
        base_url.replace("http://", "ws://") + "/api/v1/console/ws",
        additional_headers=headers,
        origin=origin,
        open_timeout=10,  # type: ignore[arg-type]
    )


class Console:
    """What a console page holds: the snapshot, then each change merged into it."""

    def __init__(self, ws: ClientConnection) -> None:
        self.ws = ws
        self.alerts: dict[str, dict[str, Any]] = {}

    def apply(self, msg: dict[str, Any]) -> None:
        if msg["type"] == "snapshot":
            self.alerts = {a["id"]: a for a in msg["alerts"]}
        elif msg["type"] == "changes":
            self.alerts.update({a["id"]: a for a in msg["alerts"]})
            for closed in msg["closed"]:
                self.alerts.pop(closed, None)

    def until(self, check: Any, timeout: float = 10) -> dict[str, Any]:
        """Reads messages until `check(message, self)` holds; returns that message."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            msg = json.loads(self.ws.recv(timeout=max(0.1, deadline - time.monotonic())))
            self.apply(msg)
            if msg["type"] != "heartbeat" and check(msg, self):
                return msg  # type: ignore[no-any-return]
        raise AssertionError("the console never saw the change")


def test_console_gets_a_snapshot_then_each_committed_change(
    live_url: str, session: Session, users: dict[Role, User], settings: Settings
) -> None:
    elder = make_elder(session)
    cookie = issue_token(users[Role.DISPATCHER], settings=settings, purpose="session")
    with _ws(live_url, cookie) as ws:
        console = Console(ws)
        first = console.until(lambda m, c: True)
        assert first["type"] == "snapshot" and first["alerts"] == []
        raised = raise_panic_alert(session, elder.id)
        msg = console.until(lambda m, c: str(raised.alert_id) in c.alerts)
        assert msg["type"] == "changes"
        [alert] = msg["alerts"]
        assert alert["alarm"] is True and alert["status"] == "new"


def test_a_change_carries_only_its_alert_and_names_one_that_left(
    live_url: str, session: Session, users: dict[Role, User], settings: Settings
) -> None:
    staying = raise_panic_alert(session, make_elder(session).id).alert_id
    leaving = raise_panic_alert(session, make_elder(session).id).alert_id
    dispatcher = users[Role.DISPATCHER]
    cookie = issue_token(dispatcher, settings=settings, purpose="session")
    with _ws(live_url, cookie) as ws:
        console = Console(ws)
        snapshot = console.until(lambda m, c: True)
        assert {a["id"] for a in snapshot["alerts"]} == {str(staying), str(leaving)}

        transition(session, alert_id=staying, action=Action.ACKNOWLEDGE, actor=dispatcher)
        session.commit()
        msg = console.until(lambda m, c: c.alerts[str(staying)]["status"] == "acknowledged")
        assert [a["id"] for a in msg["alerts"]] == [str(staying)] and msg["closed"] == []

        transition(session, alert_id=leaving, action=Action.CANCEL, actor=dispatcher, note="ทดสอบ")
        session.commit()
        msg = console.until(lambda m, c: str(leaving) not in c.alerts)
        assert msg == {"type": "changes", "now": msg["now"], "alerts": [], "closed": [str(leaving)]}
        assert set(console.alerts) == {str(staying)}


def test_a_possibly_missed_change_brings_the_whole_queue_again(
    live_url: str, session: Session, users: dict[Role, User], settings: Settings
) -> None:
    raised = raise_panic_alert(session, make_elder(session).id).alert_id
    cookie = issue_token(users[Role.DISPATCHER], settings=settings, purpose="session")
    with _ws(live_url, cookie) as ws:
        console = Console(ws)
        console.until(lambda m, c: True)
        hub_for(hub_key(session.get_bind())).publish([RESYNC])
        msg = console.until(lambda m, c: m["type"] == "snapshot")
        assert [a["id"] for a in msg["alerts"]] == [str(raised)]


def test_a_rolled_back_change_reaches_no_console(
    live_url: str, session: Session, users: dict[Role, User], settings: Settings
) -> None:
    elder = make_elder(session)
    cookie = issue_token(users[Role.DISPATCHER], settings=settings, purpose="session")
    with _ws(live_url, cookie) as ws:
        console = Console(ws)
        console.until(lambda m, c: True)
        raise_panic_alert(session, elder.id, commit=False)
        session.rollback()
        with pytest.raises(TimeoutError):
            console.until(lambda m, c: bool(c.alerts), timeout=1.5)


@pytest.mark.parametrize(
    ("role", "cookie_ok", "origin", "status", "reason"),
    [
        (Role.CAREGIVER, True, None, 403, "not_a_dispatcher"),
        (Role.DISPATCHER, False, None, 401, "login_required"),
        (Role.DISPATCHER, True, "http://evil.example", 403, "cross_origin"),
    ],
)
def test_console_refuses_the_wrong_people(
    live_url: str,
    users: dict[Role, User],
    settings: Settings,
    role: Role,
    cookie_ok: bool,
    origin: str | None,
    status: int,
    reason: str,
) -> None:
    cookie = issue_token(users[role], settings=settings, purpose="session") if cookie_ok else "x"
    with pytest.raises(InvalidStatus) as refused, _ws(live_url, cookie, origin) as ws:
        ws.recv(timeout=5)
    assert refused.value.response.status_code == status
    assert json.loads(refused.value.response.body or b"{}") == {"detail": reason}


@pytest.mark.slow
def test_an_action_through_process_a_reaches_a_console_on_process_b(
    db_url: str, session: Session, users: dict[Role, User], settings: Settings
) -> None:
    if not db_url.startswith("postgresql"):
        pytest.skip("several server processes share a database on PostgreSQL only")
    import httpx

    elder = make_elder(session)
    raised = raise_panic_alert(session, elder.id)
    cookie = issue_token(users[Role.DISPATCHER], settings=settings, purpose="session")
    token = issue_token(users[Role.SUPERVISOR], settings=settings)
    with servers(db_url, 2) as (a, b), _ws(b, cookie) as ws:
        console = Console(ws)
        console.until(lambda m, c: str(raised.alert_id) in c.alerts)
        response = httpx.post(
            f"{a}/api/v1/alerts/{raised.alert_id}/acknowledge",
            json={"note": "รับแล้ว"},
            headers={"Authorization": f"Bearer {token}"},
            timeout=10,
        )
        assert response.status_code == 200, response.text
        alert_id = str(raised.alert_id)
        console.until(lambda m, c: c.alerts[alert_id]["status"] == "acknowledged")
        acknowledged_by = users[Role.SUPERVISOR].full_name
        assert console.alerts[alert_id]["acknowledged_by_name"] == acknowledged_by
        # And a raise committed by a third party (this test) reaches it too.
        other = raise_panic_alert(session, make_elder(session).id)
        console.until(lambda m, c: str(other.alert_id) in c.alerts)
