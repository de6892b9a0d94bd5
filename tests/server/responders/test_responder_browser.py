"""The responder's link in real Chromium at a phone's size: each stage stamped in their name."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

import httpx
from fastapi import FastAPI
from fastapi.testclient import TestClient
from playwright.sync_api import Browser, expect
from sqlmodel import Session, col, select

from server.alerts.models import Alert, AlertEvent, AlertStatus, Responder
from server.auth.models import Role, User
from server.common.time import utcnow
from server.notify.models import Notification
from server.responders.models import ResponderLink
from tests.support.alerts import raise_panic_alert as panic
from tests.support.live import serve
from tests.support.records import make_elder

PHONE = {"width": 390, "height": 844}


def _dispatch(
    client: TestClient, session: Session, headers: dict[str, str]
) -> tuple[object, Responder, str]:
    elder = make_elder(
        session, access_notes="กุญแจใต้กระถางต้นไม้", latitude=13.3611, longitude=100.9847
    )
    unit = Responder(name="ทีมกู้ชีพ 1", phone="0891234567")
    session.add(unit)
    session.commit()
    alert_id = panic(session, elder.id).alert_id
    assert (
        client.post(f"/api/v1/alerts/{alert_id}/acknowledge", json={}, headers=headers).status_code
        == 200
    )
    sent = client.post(
        f"/api/v1/alerts/{alert_id}/dispatch", json={"responder_id": str(unit.id)}, headers=headers
    )
    assert sent.status_code == 200, sent.text
    sms = session.exec(
        select(Notification).where(Notification.template_key == "notify.responder.dispatched")
    ).one()
    assert sms.to == "0891234567"
    assert sms.params["notes"] == "กุญแจใต้กระถางต้นไม้"
    assert "13.361100,100.984700" in str(sms.params["map"])
    assert "99 หมู่ 1" in str(sms.params["address"])
    assert "เบาหวาน" not in str(sms.params)  # no health data in an SMS
    return alert_id, unit, str(sms.params["token"])


def test_responder_stamps_on_my_way_then_on_scene_from_a_phone(
    app: FastAPI,
    client: TestClient,
    session: Session,
    users: dict[Role, User],
    auth: Callable[[User], dict[str, str]],
    browser: Browser,
) -> None:
    alert_id, _unit, token = _dispatch(client, session, auth(users[Role.DISPATCHER]))
    with serve(app) as url:
        context = browser.new_context(
            viewport=PHONE, is_mobile=True, has_touch=True, locale="th-TH"
        )
        page = context.new_page()
        try:
            page.goto(f"{url}/r/{token}")
            expect(page.locator("body")).to_contain_text("กุญแจใต้กระถางต้นไม้")
            button = page.locator("#next-stage")
            expect(button).to_have_text("ฉันกำลังเดินทางไป")
            box = button.bounding_box()
            assert box is not None and box["width"] > 300 and box["height"] >= 48  # thumb-sized
            button.click()
            expect(page.locator("li[data-stage=on_my_way]")).to_have_class("done")
            page.locator("#next-stage").click()
            expect(page.locator("li[data-stage=on_scene]")).to_have_class("done")
            expect(page.locator("#next-stage")).to_have_text("กำลังนำส่งโรงพยาบาล")
            # Reloading (a second visit) shows the state and changes nothing.
            page.reload()
            expect(page.locator("li[data-stage=on_scene]")).to_have_class("done")
        finally:
            context.close()
        # A repeated press of a stage already done changes nothing.
        again = httpx.post(f"{url}/r/{token}", data={"stage": "on_scene"}, timeout=10)
        assert again.status_code == 200
        forged = httpx.get(f"{url}/r/{token[:-3]}abc", timeout=10)
        assert forged.status_code == 404 and 'data-reason="invalid"' in forged.text
        assert (
            httpx.post(f"{url}/r/forged", data={"stage": "on_scene"}, timeout=10).status_code == 404
        )
    session.expire_all()
    alert = session.get(Alert, alert_id)
    assert alert is not None and alert.status == AlertStatus.ON_SCENE
    link = session.exec(select(ResponderLink).where(ResponderLink.alert_id == alert_id)).one()
    assert link.on_my_way_at is not None and link.on_scene_at is not None
    assert alert.on_scene_at is not None and alert.seconds_to_on_scene is not None
    events = session.exec(
        select(AlertEvent.action, AlertEvent.actor_name)
        .where(AlertEvent.alert_id == alert_id)
        .order_by(col(AlertEvent.id))
    ).all()
    assert ("responder_on_my_way", "ทีมกู้ชีพ 1") in events
    assert ("on_scene", "ทีมกู้ชีพ 1") in events  # in the responder's name, not the dispatcher's
    assert [a for a, _ in events].count("on_scene") == 1
    family = session.exec(
        select(Notification.template_key).where(Notification.to == "0899999999")
    ).all()
    assert {"notify.family.on_the_way", "notify.family.arrived"} <= set(family)


def test_spent_and_expired_links_are_refused(
    client: TestClient,
    session: Session,
    users: dict[Role, User],
    auth: Callable[[User], dict[str, str]],
) -> None:
    headers = auth(users[Role.DISPATCHER])
    _alert_id, _unit, token = _dispatch(client, session, headers)
    for stage in ("on_my_way", "on_scene", "transporting", "handed_over"):
        assert client.post(f"/r/{token}", data={"stage": stage}).status_code == 200
    page = client.get(f"/r/{token}")
    assert page.status_code == 200 and 'id="finished"' in page.text
    reused = client.post(f"/r/{token}", data={"stage": "handed_over"})
    assert reused.status_code == 409 and 'data-reason="used"' in reused.text
    # Expired: refused even before it is used.
    other_alert, _, fresh = _dispatch_again(client, session, headers)
    link = session.exec(select(ResponderLink).where(ResponderLink.alert_id == other_alert)).one()
    link.expires_at = utcnow() - timedelta(seconds=1)
    session.add(link)
    session.commit()
    expired = client.post(f"/r/{fresh}", data={"stage": "on_my_way"})
    assert expired.status_code == 410
    session.refresh(link)
    assert link.on_my_way_at is None


def _dispatch_again(
    client: TestClient, session: Session, headers: dict[str, str]
) -> tuple[object, Responder, str]:
    for row in session.exec(select(Notification)).all():
        session.delete(row)
    session.commit()
    return _dispatch(client, session, headers)
