"""The alerts API: lifecycle through HTTP, 409 on illegal moves, the card is audited."""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session, col, select

from server.alerts import queries
from server.alerts.models import Alert, AlertEvent, AlertStatus, Responder, ResponderStatus
from server.audit.models import AuditEntry
from server.auth.models import Role, User
from server.notify.models import Notification
from server.observations.service import Reading, record_observation
from tests.support.alerts import raise_panic_alert
from tests.support.records import make_elder

Auth = Callable[[User], dict[str, str]]


@pytest.fixture
def unit(session: Session) -> Responder:
    responder = Responder(name="ทีมกู้ชีพ 1")
    session.add(responder)
    session.commit()
    return responder


def test_the_whole_path_keeps_every_stage_and_its_times(
    client: TestClient, session: Session, users: dict[Role, User], auth: Auth, unit: Responder
) -> None:
    elder = make_elder(session)
    alert_id = raise_panic_alert(session, elder.id).alert_id
    headers = auth(users[Role.DISPATCHER])
    base = f"/api/v1/alerts/{alert_id}"
    assert client.post(f"{base}/acknowledge", json={}, headers=headers).json()["status"] == (
        "acknowledged"
    )
    dispatched = client.post(
        f"{base}/dispatch",
        json={"responder_id": str(unit.id), "note": "ไปทางซอย 3"},
        headers=headers,
    ).json()
    assert dispatched["status"] == "dispatched"
    assert dispatched["responder"]["name"] == "ทีมกู้ชีพ 1"
    assert dispatched["responder"]["status"] == "busy"
    assert client.post(f"{base}/on-scene", json={}, headers=headers).status_code == 200
    closed = client.post(f"{base}/resolve", json={"note": "ok"}, headers=headers).json()
    assert closed["status"] == "resolved"
    for stamp in ("acknowledged_at", "dispatched_at", "on_scene_at", "resolved_at", "closed_at"):
        assert closed[stamp] is not None, stamp
    assert closed["seconds_to_acknowledge"] >= 0
    assert closed["seconds_to_on_scene"] >= closed["seconds_to_acknowledge"]
    assert closed["sla_breached"] is False
    assert closed["actions"] == []
    session.expire_all()
    assert session.get(Responder, unit.id).status == ResponderStatus.AVAILABLE  # type: ignore[union-attr]
    rows = session.exec(
        select(AlertEvent).where(AlertEvent.alert_id == alert_id).order_by(col(AlertEvent.id))
    ).all()
    assert [(r.action, r.from_status, r.to_status) for r in rows] == [
        ("created", None, "new"),
        ("acknowledge", "new", "acknowledged"),
        ("dispatch", "acknowledged", "dispatched"),
        ("on_scene", "dispatched", "on_scene"),
        ("resolve", "on_scene", "resolved"),
    ]
    assert rows[1].actor_name == users[Role.DISPATCHER].full_name
    assert rows[2].note == "ไปทางซอย 3"
    templates = session.exec(
        select(Notification.template_key).where(Notification.subject_id == alert_id)
    ).all()
    assert sorted(templates) == ["notify.family.alert_closed", "notify.family.alert_opened"]


def test_illegal_moves_get_409_with_the_current_state(
    client: TestClient, session: Session, users: dict[Role, User], auth: Auth
) -> None:
    elder = make_elder(session)
    alert_id = raise_panic_alert(session, elder.id).alert_id
    headers = auth(users[Role.DISPATCHER])
    response = client.post(f"/api/v1/alerts/{alert_id}/on-scene", json={}, headers=headers)
    assert response.status_code == 409
    assert response.json()["detail"]["status"] == "new"
    client.post(f"/api/v1/alerts/{alert_id}/acknowledge", json={}, headers=headers)
    again = client.post(
        f"/api/v1/alerts/{alert_id}/acknowledge", json={}, headers=auth(users[Role.SUPERVISOR])
    )
    assert again.status_code == 409
    assert again.json()["detail"]["acknowledged_by"] == users[Role.DISPATCHER].full_name
    missing = client.post(f"/api/v1/alerts/{alert_id}/dispatch", json={}, headers=headers).json()[
        "detail"
    ]
    assert missing["code"] == "responder_required"


@pytest.mark.parametrize(
    ("action", "status"), [("cancel", "cancelled"), ("false-alarm", "false_alarm")]
)
def test_cancel_and_false_alarm_need_a_reason(
    client: TestClient,
    session: Session,
    users: dict[Role, User],
    auth: Auth,
    action: str,
    status: str,
) -> None:
    elder = make_elder(session)
    alert_id = raise_panic_alert(session, elder.id).alert_id
    url = f"/api/v1/alerts/{alert_id}/{action}"
    headers = auth(users[Role.DISPATCHER])
    for body in ({}, {"note": "   "}):
        refused = client.post(url, json=body, headers=headers)
        assert refused.status_code == 422
        assert refused.json()["detail"]["field"] == "note"
    done = client.post(url, json={"note": "ลูกหลานกดเล่น"}, headers=headers).json()
    assert done["status"] == status
    assert done["close_reason"] == "ลูกหลานกดเล่น"
    assert client.post(url, json={"note": "x"}, headers=headers).status_code == 409


def test_malformed_action_bodies_are_refused_cleanly(
    client: TestClient, session: Session, users: dict[Role, User], auth: Auth
) -> None:
    elder = make_elder(session)
    alert_id = raise_panic_alert(session, elder.id).alert_id
    headers = {**auth(users[Role.DISPATCHER]), "Content-Type": "application/json"}
    url = f"/api/v1/alerts/{alert_id}/acknowledge"
    assert client.post(url, content=b"{not json", headers=headers).status_code == 422
    assert client.post(url, json={"bogus": 1}, headers=headers).status_code == 422
    assert client.post(url, json={"responder_id": "nope"}, headers=headers).status_code == 422
    session.expire_all()
    assert session.get(Alert, alert_id).status == AlertStatus.NEW  # type: ignore[union-attr]


def test_two_dispatchers_acknowledging_at_once_one_wins(
    live_url: str,
    session: Session,
    users: dict[Role, User],
    make_user: Callable[..., User],
    auth: Auth,
) -> None:
    """Two real HTTP requests in two threads against a real server: one 200, one 409."""
    elder = make_elder(session)
    dispatchers = [users[Role.DISPATCHER], make_user(Role.DISPATCHER, "dispatcher-2")]
    headers = {u.username: auth(u) for u in dispatchers}
    names = {u.username: u.full_name for u in dispatchers}
    for _ in range(5):
        alert_id = raise_panic_alert(session, elder.id, test=True).alert_id
        barrier = threading.Barrier(len(dispatchers), timeout=10)
        results: dict[str, tuple[int, dict[str, Any]]] = {}

        def press(
            username: str,
            alert_id: object = alert_id,
            barrier: Any = barrier,
            results: dict[str, tuple[int, dict[str, Any]]] = results,
        ) -> None:
            with httpx.Client(base_url=live_url, timeout=20) as http:
                http.get("/api/v1/health")  # connect before the race starts
                barrier.wait()
                r = http.post(
                    f"/api/v1/alerts/{alert_id}/acknowledge",
                    json={},
                    headers=headers[username],
                )
                results[username] = (r.status_code, r.json())

        threads = [threading.Thread(target=press, args=(name,)) for name in names]
        for th in threads:
            th.start()
        for th in threads:
            th.join(timeout=30)
        codes = sorted(code for code, _ in results.values())
        assert codes == [200, 409], results
        winner = next(name for name, (code, _) in results.items() if code == 200)
        loser = next(body for code, body in results.values() if code == 409)
        assert loser["detail"]["acknowledged_by"] == names[winner]
        assert loser["detail"]["status"] == "acknowledged"
        acks = session.exec(
            select(AlertEvent).where(
                AlertEvent.alert_id == alert_id, AlertEvent.action == "acknowledge"
            )
        ).all()
        assert len(acks) == 1
        # Close it so the next press opens a fresh alert.
        session.expire_all()
        alert = session.get(Alert, alert_id)
        assert alert is not None
        alert.status = AlertStatus.RESOLVED
        session.add(alert)
        session.commit()


def test_queue_lists_open_alerts_first_in_triage_order(
    client: TestClient, session: Session, users: dict[Role, User], auth: Auth
) -> None:
    old = make_elder(session)
    new = make_elder(session)
    first = raise_panic_alert(session, old.id).alert_id
    second = raise_panic_alert(session, new.id).alert_id
    test_press = raise_panic_alert(session, new.id, test=True).alert_id
    headers = auth(users[Role.DISPATCHER])
    client.post(f"/api/v1/alerts/{first}/acknowledge", json={}, headers=headers)
    client.post(f"/api/v1/alerts/{first}/false-alarm", json={"note": "x"}, headers=headers)
    items = client.get("/api/v1/alerts", headers=headers).json()["items"]
    assert [i["id"] for i in items] == [str(second), str(test_press), str(first)]
    assert items[0]["alarm"] is True and items[0]["priority"] == "RED"
    assert items[1]["test"] is True
    opened = client.get("/api/v1/alerts?state=open&test=false", headers=headers).json()["items"]
    assert [i["id"] for i in opened] == [str(second)]


def test_an_older_test_press_sorts_below_a_newer_real_alert(
    client: TestClient, session: Session, users: dict[Role, User], auth: Auth
) -> None:
    # The drill came first, so it has less time left to the target; the real press still leads.
    drill = raise_panic_alert(session, make_elder(session).id, test=True).alert_id
    real = raise_panic_alert(session, make_elder(session).id).alert_id
    console = [a.id for a in queries.open_queue(session, locale="th")]
    assert console == [real, drill]
    items = client.get("/api/v1/alerts?state=open", headers=auth(users[Role.DISPATCHER])).json()
    assert [i["id"] for i in items["items"]] == [str(real), str(drill)]


def test_opening_the_card_shows_what_a_responder_needs_and_is_audited(
    client: TestClient, session: Session, users: dict[Role, User], auth: Auth
) -> None:
    elder = make_elder(session, access_notes="กุญแจอยู่ใต้กระถาง", latitude=13.28, longitude=100.92)
    record_observation(
        session,
        elder=elder,
        readings=[Reading("spo2", 86, "%"), Reading("pulse", 120, "/min")],
        source="device",
        observed_at=elder.created_at + timedelta(minutes=1),
    )
    session.commit()
    alert_id = raise_panic_alert(session, elder.id).alert_id
    user = users[Role.DISPATCHER]
    body = client.get(f"/api/v1/alerts/{alert_id}", headers=auth(user)).json()
    card = body["elder"]
    assert card["access_notes"] == "กุญแจอยู่ใต้กระถาง"
    assert card["allergies"] == "Penicillin"
    assert card["chronic_conditions"] == ["เบาหวาน"]
    assert card["contacts"][0]["phone"] == "0899999999"
    assert "13.28,100.92" in card["map_url"]
    readings = {r["code"]: r for r in card["readings"]}
    assert readings["spo2"]["value"] == 86 and readings["spo2"]["priority"] == "RED"
    assert [t["action"] for t in body["timeline"]] == ["created"]
    audits = session.exec(
        select(AuditEntry).where(
            AuditEntry.entity == "alert_elder_card", AuditEntry.actor_id == user.id
        )
    ).all()
    assert len(audits) == 1 and audits[0].elder_id == elder.id


def test_english_texts_on_request(
    client: TestClient, session: Session, users: dict[Role, User], auth: Auth
) -> None:
    elder = make_elder(session)
    raise_panic_alert(session, elder.id)
    item = client.get("/api/v1/alerts?lang=en", headers=auth(users[Role.DISPATCHER])).json()[
        "items"
    ][0]
    assert any("panic" in r["text"].lower() for r in item["reasons"]), item["reasons"]
