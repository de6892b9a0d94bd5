"""End to end over loopback: the real twilio SDK → a fake Twilio → signed webhooks back.

The chain runs the default RED policy's steps at 1/30 of their times (60 s → 2 s), so a
test takes seconds; `test_chain.py` runs the default's own times on an injected clock.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import timedelta
from typing import TypeVar

import httpx
import pytest
from sqlmodel import Session, col, select

from server.alerts.models import Alert, AlertEvent, AlertStatus
from server.notify.models import Notification, NotificationStatus
from server.notify.phones import to_e164
from tests.server.oncall.conftest import Live
from tests.server.oncall.helpers import (
    BACKUP_PHONE,
    DISPATCHER_PHONE,
    SUPERVISOR_PHONE,
    make_roster,
    save_short_policy,
)
from tests.support.alerts import raise_panic_alert as panic
from tests.support.records import make_elder

pytestmark = pytest.mark.slow
T = TypeVar("T")


def _open(live: Live, password_hash: str, scale: float = 1 / 30) -> tuple[Session, object, object]:
    session = Session(live.app.state.engine, expire_on_commit=False)
    roster = make_roster(session, password_hash)
    save_short_policy(session, scale)
    elder = make_elder(session)
    alert_id = panic(session, elder.id).alert_id
    return session, roster, alert_id


def _eventually(session: Session, read: Callable[[], T | None], timeout: float = 10) -> T:
    deadline = time.monotonic() + timeout
    while True:
        session.expire_all()
        found = read()
        if found is not None or time.monotonic() > deadline:
            assert found is not None, "not seen in time"
            return found
        time.sleep(0.05)


def _actions(session: Session, alert_id: object) -> list[str]:
    session.expire_all()
    return list(
        session.exec(
            select(AlertEvent.action)
            .where(AlertEvent.alert_id == alert_id)
            .order_by(col(AlertEvent.id))
        ).all()
    )


def test_unacknowledged_red_calls_at_its_step_and_press_1_acknowledges_in_their_name(
    live: Live, password_hash: str
) -> None:
    # 1/10 of the default (dispatcher 6 s, supervisor 12 s): room to answer on a busy machine.
    session, roster, alert_id = _open(live, password_hash, scale=1 / 10)
    alert = session.get(Alert, alert_id)
    assert alert is not None
    live.fake.wait_for(lambda got: any(r.kind == "call" for r in got), timeout=10)
    call = live.fake.accepted("call")[0]
    assert call.to == to_e164(DISPATCHER_PHONE) == "+66811111111"
    late = call.at - alert.created_at.timestamp() - 6.0
    assert 0 <= late <= 1.0, f"the call came {late:+.2f} s from its due time"
    assert call.form["StatusCallbackEvent"] == ["initiated", "ringing", "answered", "completed"]
    twiml = live.fake.answer(call)
    assert 'language="th-TH"' in twiml and "<Gather" in twiml and 'numDigits="1"' in twiml
    assert "บุญมา ศรีสุข" in twiml and "ชุมชนหาดวอนนภา" in twiml
    assert "เบาหวาน" not in twiml and "Metformin" not in twiml  # no health detail by voice
    # A wrong key repeats the message; 1 acknowledges in the dispatcher's name.
    again = live.fake.press(call, twiml, "7")
    assert "<Gather" in again
    done = live.fake.press(call, again, "1")
    assert "บันทึกการรับเหตุในชื่อของคุณแล้ว" in done
    session.expire_all()
    alert = session.get(Alert, alert_id)
    assert alert is not None and alert.status == AlertStatus.ACKNOWLEDGED
    assert alert.acknowledged_by == roster.dispatcher.id  # type: ignore[attr-defined]
    # Pressing 1 again: the console's 409 rule, said aloud.
    late_press = live.fake.press(call, twiml, "1")
    assert roster.dispatcher.full_name in late_press and "<Gather" not in late_press  # type: ignore[attr-defined]
    # No further step: the supervisor (due at 12 s) is never called.
    time.sleep(max(0.0, alert.created_at.timestamp() + 13.0 - time.time()))
    assert [r.to for r in live.fake.accepted("call")] == ["+66811111111"]
    live.fake.callback(call, "completed").raise_for_status()
    session.expire_all()
    row = session.exec(select(Notification).where(Notification.provider_ref == call.sid)).one()
    assert row.status == NotificationStatus.DELIVERED and row.provider_status == "acknowledged"
    assert "acknowledge" in _actions(session, alert_id)
    session.close()


def test_no_answer_chain_reaches_the_backup_and_texts_the_team(
    live: Live, password_hash: str
) -> None:
    session, _roster, alert_id = _open(live, password_hash)
    got = live.fake.wait_for(
        lambda got: (
            len([r for r in got if r.kind == "call"]) >= 3
            and len([r for r in got if r.kind == "sms"]) >= 3
        ),
        timeout=15,
    )
    calls = [r for r in got if r.kind == "call"]
    assert [c.to for c in calls[:3]] == [
        to_e164(DISPATCHER_PHONE), to_e164(SUPERVISOR_PHONE), to_e164(BACKUP_PHONE)
    ]  # fmt: skip
    team_sms = [r for r in got if r.kind == "sms" and "ยังไม่มีผู้รับ" in r.get("Body")]
    assert sorted(r.to for r in team_sms) == sorted(
        [to_e164(DISPATCHER_PHONE), to_e164(SUPERVISOR_PHONE)]
    )
    assert all("บุญมา" in r.get("Body") and "เบาหวาน" not in r.get("Body") for r in team_sms)
    for call in calls[:3]:
        live.fake.callback(call, "ringing").raise_for_status()
        live.fake.callback(call, "no-answer").raise_for_status()
    actions = _actions(session, alert_id)
    assert actions.count("escalation_call") >= 3 and "escalation_sms" in actions
    assert actions.count("voice_status") == 3
    session.expire_all()
    rows = session.exec(
        select(Notification.provider_status).where(
            col(Notification.provider_ref).in_([c.sid for c in calls[:3]])
        )
    ).all()
    assert rows == ["no-answer"] * 3
    # "2" on the backup's call asks for the next step at once.
    session.close()


def test_press_2_escalates_at_once(live: Live, password_hash: str) -> None:
    # 1/10 of the default: the dispatcher at 6 s, the supervisor not before 12 s.
    session, _roster, alert_id = _open(live, password_hash, scale=1 / 10)
    live.fake.wait_for(lambda got: any(r.kind == "call" for r in got))
    first = live.fake.accepted("call")[0]
    reply = live.fake.press(first, live.fake.answer(first), "2")
    pressed_at = time.time()
    assert "<Hangup" in reply
    second = live.fake.wait_for(lambda got: len([r for r in got if r.kind == "call"]) >= 2)
    supervisor_call = [r for r in second if r.kind == "call"][1]
    assert supervisor_call.to == to_e164(SUPERVISOR_PHONE)
    assert supervisor_call.at - pressed_at < 1.0  # not at the 4 s step: now
    assert "escalation_requested" in _actions(session, alert_id)
    session.close()


def test_forged_or_unsigned_webhooks_are_refused_and_change_nothing(
    live: Live, password_hash: str
) -> None:
    session, _roster, alert_id = _open(live, password_hash)
    live.fake.wait_for(lambda got: any(r.kind == "call" for r in got))
    call = live.fake.accepted("call")[0]
    twiml = live.fake.answer(call)
    before = _actions(session, alert_id)
    gather_url = twiml.split('action="')[1].split('"')[0]
    forged = live.fake._signed_post(gather_url, live.fake.call_form(call, Digits="1"), forged=True)
    assert forged.status_code == 403
    unsigned = httpx.post(gather_url, data=live.fake.call_form(call, Digits="1"), timeout=5)
    assert unsigned.status_code == 403
    assert live.fake.callback(call, "completed", forged=True).status_code == 403
    # Signed for another URL (a replay onto a different notification) fails too.
    other = gather_url.replace(
        str(call.get("Url")).rsplit("/", 1)[-1], "0" * 8 + "-0000-0000-0000-" + "0" * 12
    )
    sig = httpx.post(
        other,
        data=live.fake.call_form(call, Digits="1"),
        headers={"X-Twilio-Signature": "x"},
        timeout=5,
    )
    assert sig.status_code == 403
    session.expire_all()
    alert = session.get(Alert, alert_id)
    assert alert is not None and alert.status == AlertStatus.NEW
    assert _actions(session, alert_id)[: len(before)] == before
    assert "acknowledge" not in _actions(session, alert_id)
    session.close()


def test_5xx_and_timeouts_retry_4xx_does_not(live: Live, password_hash: str) -> None:
    live.fake.timeout_seconds = 2.0  # past the sender's 1 s request timeout (conftest)
    live.fake.plan["call"].extend([503, "timeout", 500])
    # 1/10 of the default, so the retries end before the supervisor's call (12 s) starts.
    session, _roster, alert_id = _open(live, password_hash, scale=1 / 10)
    dispatcher = to_e164(DISPATCHER_PHONE)
    live.fake.wait_for(lambda got: any(r.to == dispatcher for r in got), timeout=15)
    got = [r for r in live.fake.accepted("call") if r.to == dispatcher]
    with live.fake.lock:
        tries = [r.status for r in live.fake.requests if r.kind == "call" and r.to == dispatcher]
    assert tries == [503, 504, 500, 201]  # the timed-out try is recorded as 504
    row = _eventually(
        session,
        lambda: session.exec(
            select(Notification).where(Notification.provider_ref == got[0].sid)
        ).first(),
    )
    assert row.attempts == 4 and row.status == NotificationStatus.SENT
    # A 400 (e.g. a number Twilio refuses) fails at once and says so on the timeline.
    live.fake.plan["call"].append(400)
    deadline = time.time() + 10
    failed = None
    while time.time() < deadline and failed is None:
        session.expire_all()
        failed = session.exec(
            select(Notification).where(Notification.status == NotificationStatus.FAILED)
        ).first()
        time.sleep(0.1)
    assert failed is not None and failed.attempts == 1 and "400" in (failed.error or "")
    assert f"{failed.channel.value}_failed" in _actions(session, alert_id)
    session.close()


def test_without_twilio_settings_phone_escalation_is_off(
    client: object, users: dict[object, object], auth: object
) -> None:
    from server.auth.models import Role

    headers = auth(users[Role.DISPATCHER])  # type: ignore[operator]
    page = client.get("/console", headers=headers)  # type: ignore[attr-defined]
    assert page.status_code == 200 and 'id="phone-off"' in page.text
    oncall = client.get("/oncall", headers=headers)  # type: ignore[attr-defined]
    assert oncall.status_code == 200 and "Twilio" in oncall.text


def test_step_due_times_follow_creation_not_the_tick(live: Live, password_hash: str) -> None:
    session, _roster, alert_id = _open(live, password_hash)
    alert = session.get(Alert, alert_id)
    assert alert is not None
    calls = live.fake.wait_for(lambda got: len([r for r in got if r.kind == "call"]) >= 2)
    supervisor = [r for r in calls if r.kind == "call"][1]
    late = supervisor.at - (alert.created_at + timedelta(seconds=4)).timestamp()
    assert 0 <= late <= 1.0
    session.close()
