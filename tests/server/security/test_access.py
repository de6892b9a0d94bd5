"""Access that must not reach too far: a dispatcher's clinical view opens with an emergency,
a phone-in emergency becomes a real alert, volunteers see nothing clinical anywhere."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import timedelta

from fastapi.testclient import TestClient
from sqlmodel import Session, select

from server.alerts.lifecycle import Action
from server.alerts.models import Alert, AlertKind, AlertStatus, AlertTimer
from server.alerts.service import transition
from server.audit.models import AuditEntry
from server.auth.models import Role, User
from server.common.time import utcnow
from server.elders.schemas import HEALTH_FIELDS
from tests.support.alerts import raise_panic_alert
from tests.support.records import make_elder

Auth = Callable[[User], dict[str, str]]
CLINICAL = ["chronic_conditions", "medications", "allergies", "adl_score", "mobility", "fall_risk"]


def _close(session: Session, alert_id: object, actor: User, *, hours_ago: float) -> None:
    for action in (Action.ACKNOWLEDGE, Action.CANCEL):
        transition(session, alert_id=alert_id, action=action, actor=actor, note="ทดสอบระบบ")  # type: ignore[arg-type]
        session.commit()
    alert = session.get(Alert, alert_id)
    assert alert is not None
    alert.closed_at = utcnow() - timedelta(hours=hours_ago)
    session.add(alert)
    session.commit()


def test_dispatchers_open_the_clinical_record_only_during_an_emergency(
    client: TestClient, session: Session, users: dict[Role, User], auth: Auth
) -> None:
    dispatcher, supervisor = users[Role.DISPATCHER], users[Role.SUPERVISOR]
    elder = make_elder(session, phone="0811112222", mobility="wheelchair", fall_risk=True)
    url = f"/api/v1/elders/{elder.id}"

    quiet = client.get(url, headers=auth(dispatcher)).json()
    assert all(quiet[f] is None for f in CLINICAL), quiet
    assert set(CLINICAL) <= set(quiet["hidden_fields"])
    assert quiet["first_name"] == "บุญมา" and quiet["address"] and quiet["phone"]
    history = client.get(f"{url}/observations", headers=auth(dispatcher))
    assert history.status_code == 403 and history.json()["detail"]["code"] == "clinical_not_open"
    # Search by name, phone, address or community: identity and location, no ADL group.
    for q in ("บุญมา", "0811112222", "99 หมู่", "หาดวอน"):
        found = client.get("/api/v1/elders", params={"q": q}, headers=auth(dispatcher)).json()
        assert [i["id"] for i in found["items"]] == [str(elder.id)], q
        assert found["items"][0]["adl_group"] is None
    # Supervisors keep wider access.
    assert client.get(url, headers=auth(supervisor)).json()["chronic_conditions"] == ["เบาหวาน"]

    raised = raise_panic_alert(session, elder.id)
    during = client.get(url, headers=auth(dispatcher)).json()
    assert during["chronic_conditions"] == ["เบาหวาน"] and during["medications"] == "Metformin"
    assert client.get(f"{url}/observations", headers=auth(dispatcher)).status_code == 200
    card = client.get(f"/api/v1/alerts/{raised.alert_id}", headers=auth(dispatcher)).json()
    assert card["elder"]["chronic_conditions"] == ["เบาหวาน"]

    _close(session, raised.alert_id, dispatcher, hours_ago=2)  # closed recently: still open
    assert client.get(url, headers=auth(dispatcher)).json()["medications"] == "Metformin"
    _close_more = session.get(Alert, raised.alert_id)
    assert _close_more is not None
    _close_more.closed_at = utcnow() - timedelta(hours=25)
    session.add(_close_more)
    session.commit()
    after = client.get(url, headers=auth(dispatcher)).json()
    assert all(after[f] is None for f in CLINICAL)
    old_card = client.get(f"/api/v1/alerts/{raised.alert_id}", headers=auth(dispatcher))
    assert old_card.status_code == 200
    assert old_card.json()["elder"]["medications"] is None
    assert old_card.json()["elder"]["readings"] == []
    # The alert list no longer carries that alert's reasons for the dispatcher.
    listed = client.get("/api/v1/alerts", params={"state": "all"}, headers=auth(dispatcher))
    assert str(raised.alert_id) not in {a["id"] for a in listed.json()["items"]}
    sup_list = client.get("/api/v1/alerts", params={"state": "all"}, headers=auth(supervisor))
    assert str(raised.alert_id) in {a["id"] for a in sup_list.json()["items"]}


def test_a_phone_in_emergency_runs_the_alert_lifecycle(
    client: TestClient, session: Session, users: dict[Role, User], auth: Auth
) -> None:
    dispatcher = users[Role.DISPATCHER]
    elder = make_elder(session)
    body = {"elder_id": str(elder.id), "priority": "RED", "reason": "เพื่อนบ้านโทรมา ล้มในห้องน้ำ"}
    for role in (Role.CAREGIVER, Role.CLINICIAN, Role.CARE_MANAGER):
        assert (
            client.post("/api/v1/alerts", json=body, headers=auth(users[role])).status_code == 403
        )
    no_reason = client.post(
        "/api/v1/alerts", json={**body, "reason": "  "}, headers=auth(dispatcher)
    )
    assert no_reason.status_code == 422
    opened = client.post("/api/v1/alerts", json=body, headers=auth(dispatcher))
    assert opened.status_code == 201, opened.text
    out = opened.json()
    assert out["kind"] == "phone_call" and out["priority"] == "RED" and out["status"] == "new"
    assert out["due_at"] is not None  # the 10-minute clock runs
    assert any("ล้มในห้องน้ำ" in r["text"] for r in out["reasons"])
    session.expire_all()
    alert = session.get(Alert, uuid.UUID(out["id"]))
    assert alert is not None and alert.kind == AlertKind.PHONE_CALL
    timers = session.exec(select(AlertTimer).where(AlertTimer.alert_id == alert.id)).all()
    assert timers, "a phone call gets the escalation timers a press gets"
    entry = session.exec(
        select(AuditEntry).where(AuditEntry.entity == "alert", AuditEntry.action == "create")
    ).one()
    assert entry.actor_id == dispatcher.id and entry.elder_id == elder.id
    # The same lifecycle: acknowledge works on it.
    ack = client.post(f"/api/v1/alerts/{out['id']}/acknowledge", headers=auth(dispatcher))
    assert ack.status_code == 200 and ack.json()["status"] == AlertStatus.ACKNOWLEDGED.value
    # And the clinical record opens for it.
    card = client.get(f"/api/v1/elders/{elder.id}", headers=auth(dispatcher)).json()
    assert card["chronic_conditions"] == ["เบาหวาน"]


def test_the_console_opens_a_phone_call_alert(
    client: TestClient, session: Session, users: dict[Role, User], auth: Auth
) -> None:
    elder = make_elder(session, first_name="โทรมา")
    headers = {**auth(users[Role.DISPATCHER]), "accept": "text/html"}
    console = client.get("/console", headers=headers)
    assert 'href="/console/phone-call"' in console.text
    page = client.get("/console/phone-call", params={"q": "โทรมา"}, headers=headers)
    assert page.status_code == 200 and str(elder.id) in page.text
    sent = client.post(
        "/console/phone-call", headers=headers, follow_redirects=False,
        data={"elder_id": str(elder.id), "priority": "YELLOW", "reason": "ลูกโทรแจ้ง หายใจเหนื่อย"},
    )  # fmt: skip
    assert sent.status_code == 303 and sent.headers["location"] == "/console"
    session.expire_all()
    alert = session.exec(select(Alert).where(Alert.elder_id == elder.id)).one()
    assert alert.kind == AlertKind.PHONE_CALL and alert.priority == "YELLOW"


def test_volunteers_see_nothing_clinical_in_any_path(
    client: TestClient, session: Session, users: dict[Role, User], auth: Auth
) -> None:
    volunteer = users[Role.VOLUNTEER]
    elder = make_elder(session, volunteer_id=volunteer.id, mobility="wheelchair", fall_risk=True,
                       falls_past_year=2)  # fmt: skip
    one = client.get(f"/api/v1/elders/{elder.id}", headers=auth(volunteer)).json()
    for name in HEALTH_FIELDS:
        assert one[name] is None, name
    assert set(HEALTH_FIELDS) <= set(one["hidden_fields"])
    listed = client.get("/api/v1/elders", headers=auth(volunteer)).json()
    assert listed["items"][0]["adl_group"] is None
    pulled = client.get("/api/v1/sync", headers=auth(volunteer)).json()
    synced = next(e for e in pulled["elders"] if e["id"] == str(elder.id))
    for name in HEALTH_FIELDS:
        assert synced[name] is None, name
    page = client.get(f"/elders/{elder.id}", headers={**auth(volunteer), "accept": "text/html"})
    assert page.status_code == 200 and "เบาหวาน" not in page.text
