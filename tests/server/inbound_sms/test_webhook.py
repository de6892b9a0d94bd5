"""Twilio's inbound-SMS webhook: signed requests made with the SDK's own validator."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlmodel import Session, col, func, select
from twilio.request_validator import RequestValidator

from eldercare_protocol import HTTP_EVENTS_PATH
from server.alerts.models import Alert, AlertEvent
from server.devices.config import DevicesSettings
from server.devices.models import AgentEvent, Device, DeviceKind, HubStatus
from server.inbound_sms.router import SMS_WEBHOOK_PATH
from server.inbound_sms.service import PhoneNumberError, normalise_phone, register_phone
from tests.support.events import events_message, panic_json
from tests.support.hubs import QUIET, make_hub

AUTH_TOKEN = "twilio-auth-token-for-tests-0123456789"
PUBLIC_URL = "https://care.example.go.th"
CENTRE = "+6621234567"
HUB_SIM = "+66812345678"
PENDANT_SIM = "+66898765432"


@pytest.fixture
def sms_client(app: FastAPI) -> Iterator[TestClient]:
    app.state.devices_settings = DevicesSettings(**QUIET)
    app.state.settings = app.state.settings.model_copy(
        update={"twilio_auth_token": AUTH_TOKEN, "public_url": PUBLIC_URL}
    )
    with TestClient(app) as client:
        yield client


def text(
    client: TestClient, sender: str, body: str, *, sid: str | None = None, token: str = AUTH_TOKEN
) -> int:
    form = {
        "MessageSid": sid or "SM" + uuid.uuid4().hex,
        "AccountSid": "AC" + "0" * 32,
        "From": sender,
        "To": CENTRE,
        "Body": body,
        "NumMedia": "0",
    }
    signature = RequestValidator(token).compute_signature(PUBLIC_URL + SMS_WEBHOOK_PATH, form)
    reply = client.post(SMS_WEBHOOK_PATH, data=form, headers={"X-Twilio-Signature": signature})
    if reply.status_code == 200:
        assert reply.headers["content-type"].startswith("application/xml")
        assert "<Response" in reply.text
    return reply.status_code


def counts(session: Session) -> tuple[int, int, int]:
    session.expire_all()
    return (
        session.exec(select(func.count()).select_from(AgentEvent)).one(),
        session.exec(select(func.count()).select_from(Alert)).one(),
        session.exec(
            select(func.count())
            .select_from(AlertEvent)
            .where(col(AlertEvent.source_event_id).is_not(None))
        ).one(),
    )


def test_a_hubs_sms_copy_raises_the_alert_once_whichever_copy_comes_first(
    sms_client: TestClient, session: Session
) -> None:
    hub = make_hub(session)
    register_phone(session, device_id=hub.device_id, phone="081-234-5678")
    session.commit()

    first = str(uuid.uuid4())
    body = f"ELDERCARE PANIC {first} 2026-11-29T22:01:02.345678Z"
    assert text(sms_client, HUB_SIM, body) == 200
    assert counts(session) == (1, 1, 1)
    # Twilio delivering again, and the hub's own copy arriving over HTTP later: no more.
    assert text(sms_client, HUB_SIM, body) == 200
    over_http = panic_json()
    over_http["id"] = first
    reply = sms_client.post(
        HTTP_EVENTS_PATH, content=events_message(over_http), headers=hub.headers
    )
    assert reply.status_code == 200 and reply.json()["ids"] == [first]
    assert counts(session) == (1, 1, 1)
    stored = session.get(AgentEvent, uuid.UUID(first))
    assert stored is not None and stored.hub_id == hub.device_id
    assert stored.elder_id == hub.elder.id and stored.payload["source"] == "sms"
    alert = session.exec(select(Alert)).one()
    assert alert.elder_id == hub.elder.id and alert.kind == "panic"

    # The other order: over HTTP first, then the SMS copy.
    second = panic_json()
    reply = sms_client.post(HTTP_EVENTS_PATH, content=events_message(second), headers=hub.headers)
    assert reply.status_code == 200
    assert (
        text(sms_client, HUB_SIM, f"ELDERCARE PANIC {second['id']} {second['occurred_at']}") == 200
    )
    session.expire_all()
    assert (
        session.exec(
            select(func.count())
            .select_from(AgentEvent)
            .where(AgentEvent.id == uuid.UUID(second["id"]))
        ).one()
        == 1
    )
    assert (
        session.exec(
            select(func.count())
            .select_from(AlertEvent)
            .where(AlertEvent.source_event_id == uuid.UUID(second["id"]))
        ).one()
        == 1
    )
    # A repeated press joins the open alert: still one alert for the home.
    assert session.exec(select(func.count()).select_from(Alert)).one() == 1


def test_a_gsm_pendants_sos_raises_an_alert_for_its_elder_once(
    sms_client: TestClient, session: Session
) -> None:
    hub = make_hub(session)
    pendant = Device(elder_id=hub.elder.id, kind=DeviceKind.PANIC_BUTTON, label="GSM pendant")
    session.add(pendant)
    session.commit()
    register_phone(session, device_id=pendant.id, phone=PENDANT_SIM)
    session.commit()

    assert text(sms_client, PENDANT_SIM, "Low battery") == 200  # not an emergency
    assert counts(session) == (0, 0, 0)
    sid = "SM" + uuid.uuid4().hex
    assert text(sms_client, PENDANT_SIM, "SOS! Help", sid=sid) == 200
    assert text(sms_client, PENDANT_SIM, "SOS! Help", sid=sid) == 200  # delivered twice
    assert counts(session) == (1, 1, 1)
    alert = session.exec(select(Alert)).one()
    assert alert.elder_id == hub.elder.id and alert.device_id == pendant.id
    # A pendant is not a hub: supervision does not start watching it for check-ins.
    assert session.get(HubStatus, pendant.id) is None


def test_forged_unsigned_and_unknown_texts_store_nothing(
    sms_client: TestClient, session: Session
) -> None:
    hub = make_hub(session)
    register_phone(session, device_id=hub.device_id, phone=HUB_SIM)
    session.commit()
    body = f"ELDERCARE PANIC {uuid.uuid4()} 2026-11-29T22:01:02Z"
    assert text(sms_client, HUB_SIM, body, token="not-the-auth-token") == 403
    unsigned = sms_client.post(SMS_WEBHOOK_PATH, data={"From": HUB_SIM, "Body": body})
    assert unsigned.status_code == 403
    assert text(sms_client, "+66800000000", "SOS") == 200  # nobody registered that number
    assert counts(session) == (0, 0, 0)


def test_phone_numbers_are_stored_in_e164_and_belong_to_one_device(session: Session) -> None:
    assert normalise_phone("081-234-5678") == "+66812345678"
    assert normalise_phone("02 123 4567") == "+6621234567"
    assert normalise_phone("+66 81 234 5678") == "+66812345678"
    with pytest.raises(PhoneNumberError):
        normalise_phone("hello")
    one, two = make_hub(session), make_hub(session)
    register_phone(session, device_id=one.device_id, phone=HUB_SIM)
    session.commit()
    with pytest.raises(PhoneNumberError):
        register_phone(session, device_id=two.device_id, phone="0812345678")
