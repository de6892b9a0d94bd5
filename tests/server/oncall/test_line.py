"""LINE: a contact links by a one-time code; alert pushes go by LINE, SMS when LINE fails."""

from __future__ import annotations

import functools
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI
from sqlmodel import Session, select

from server.auth.models import Role, User
from server.auth.service import issue_token
from server.elders.models import EmergencyContact
from server.main import create_app
from server.notify.models import Channel, LineLink, Notification, NotificationStatus
from server.oncall.config import OncallSettings
from tests.server.oncall.conftest import phone_settings
from tests.support.alerts import raise_panic_alert as panic
from tests.support.fake_line import (
    ACCESS_TOKEN,
    CHANNEL_SECRET,
    FakeLine,
    fake_line,
    signed,
    text_event,
)
from tests.support.fake_twilio import FakeTwilio
from tests.support.live import free_port, serve
from tests.support.records import make_elder

pytestmark = pytest.mark.slow
post = functools.partial(httpx.post, timeout=30)


@pytest.fixture
def line() -> Iterator[FakeLine]:
    with fake_line() as f:
        yield f


@pytest.fixture
def line_app(
    db_url: str, tmp_path: Path, fake: FakeTwilio, line: FakeLine
) -> Iterator[tuple[str, FastAPI]]:
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    settings = phone_settings(db_url, tmp_path, public_url=url, fake_url=fake.url)
    settings.line_channel_access_token = ACCESS_TOKEN
    settings.line_channel_secret = CHANNEL_SECRET
    settings.line_api_base = line.url
    app = create_app(settings)
    app.state.oncall_settings = OncallSettings(tick_seconds=0.1)
    with serve(app, port=port):
        yield url, app
    app.state.engine.dispose()


def _wait(predicate: Callable[[], bool], timeout: float = 10) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "not in time"
        time.sleep(0.05)


def test_contact_links_by_code_and_gets_alert_pushes_on_line(
    line_app: tuple[str, FastAPI], line: FakeLine, fake: FakeTwilio, password_hash: str
) -> None:
    url, app = line_app
    session = Session(app.state.engine, expire_on_commit=False)
    staff = User(username="cm", full_name="CM", role=Role.CARE_MANAGER, password_hash=password_hash)
    session.add(staff)
    elder = make_elder(session)
    session.commit()
    contact = session.exec(
        select(EmergencyContact).where(EmergencyContact.elder_id == elder.id)
    ).one()
    headers = {"Authorization": f"Bearer {issue_token(staff, settings=app.state.settings)}"}
    made = post(
        f"{url}/api/v1/line/link-codes", json={"contact_id": str(contact.id)}, headers=headers
    )
    assert made.status_code == 201, made.text
    code = made.json()["code"]
    # A forged webhook (wrong secret) links nothing.
    body, forged_headers = signed(text_event("Uattacker", code), secret="wrong")
    assert (
        post(f"{url}/api/v1/line/webhook", content=body, headers=forged_headers).status_code == 403
    )
    assert post(f"{url}/api/v1/line/webhook", content=body).status_code == 403
    body, good = signed(text_event("Ufamily", code))
    assert post(f"{url}/api/v1/line/webhook", content=body, headers=good).status_code == 200
    link = session.exec(select(LineLink).where(LineLink.contact_id == contact.id)).one()
    assert link.line_user_id == "Ufamily" and link.code is None
    # The code is spent: sending it again from another account does nothing.
    body, again = signed(text_event("Uother", code))
    post(f"{url}/api/v1/line/webhook", content=body, headers=again)
    session.expire_all()
    assert session.exec(select(LineLink.line_user_id)).all() == ["Ufamily"]

    panic(session, elder.id)
    _wait(lambda: bool(line.delivered()))
    push = line.delivered()[0]
    assert push["to"] == "Ufamily"
    text = push["messages"][0]["text"]
    assert "บุญมา ศรีสุข" in text and "เบาหวาน" not in text
    assert push["retry_key"]
    # No SMS to this contact: LINE carried it.
    assert not [r for r in fake.accepted("sms") if r.to == "+66899999999"]
    session.close()


def test_a_failed_line_push_falls_back_to_sms(
    line_app: tuple[str, FastAPI], line: FakeLine, fake: FakeTwilio
) -> None:
    _url, app = line_app
    session = Session(app.state.engine, expire_on_commit=False)
    elder = make_elder(session)
    session.commit()
    contact = session.exec(
        select(EmergencyContact).where(EmergencyContact.elder_id == elder.id)
    ).one()
    session.add(LineLink(contact_id=contact.id, line_user_id="Ublocked"))
    session.commit()
    line.plan.append(400)  # e.g. the contact blocked the account
    panic(session, elder.id)
    _wait(lambda: any(r.to == "+66899999999" for r in fake.accepted("sms")))
    session.expire_all()
    rows = session.exec(select(Notification).where(Notification.subject_id.is_not(None))).all()  # type: ignore[union-attr]
    line_rows = [r for r in rows if r.channel == Channel.LINE]
    assert len(line_rows) == 1 and line_rows[0].status == NotificationStatus.FAILED
    session.close()
