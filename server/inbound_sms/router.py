"""``POST /api/v1/twilio/sms``: Twilio's inbound-SMS webhook (signed; 403 when not)."""

from __future__ import annotations

import logging

import anyio
from fastapi import APIRouter, Request
from fastapi.responses import Response
from sqlalchemy.engine import Engine
from sqlmodel import Session
from twilio.twiml.messaging_response import MessagingResponse

from server.common.time import utcnow
from server.deps import HandlerRoute
from server.devices.ingest import Ingestor
from server.devices.service import HubIdentity
from server.inbound_sms.service import (
    PhoneNumberError,
    Sender,
    event_from_text,
    find_sender,
    normalise_phone,
)
from server.notify.twilio_api import TwilioForm

log = logging.getLogger(__name__)

router = APIRouter(route_class=HandlerRoute, tags=["sms"])
SMS_WEBHOOK_PATH = "/api/v1/twilio/sms"


def _lookup(engine: Engine, phone: str) -> Sender | None:
    with Session(engine) as session:
        return find_sender(session, phone=phone)


def _no_reply() -> Response:
    return Response(str(MessagingResponse()), media_type="application/xml")


@router.post(SMS_WEBHOOK_PATH, include_in_schema=False)
async def inbound_sms(request: Request, form: TwilioForm) -> Response:
    # TwilioForm has refused (403) a request whose X-Twilio-Signature is missing or wrong.
    try:
        phone = normalise_phone(str(form.get("From") or ""))
    except PhoneNumberError:
        log.info("inbound SMS from a sender that is not a phone number; ignored")
        return _no_reply()
    sender = await anyio.to_thread.run_sync(_lookup, request.app.state.engine, phone)
    if sender is None:
        # The number is personal data: its last digits are enough to find it.
        log.warning("inbound SMS from unregistered number …%s; ignored", phone[-4:])
        return _no_reply()
    event = event_from_text(
        str(form.get("Body") or ""),
        message_sid=str(form.get("MessageSid") or ""),
        received_at=utcnow(),
    )
    if event is None:
        log.info("SMS from device %s reports no emergency; ignored", sender.device_id)
        return _no_reply()
    ingestor: Ingestor = request.app.state.ingestor
    # Filed as the sending device's own event, like a hub's; supervision is left alone
    # (a text says nothing about whether a hub's network works, and a pendant is no hub).
    identity = HubIdentity(
        token_id=sender.device_id, device_id=sender.device_id, elder_id=sender.elder_id
    )
    try:
        outcome = await ingestor.submit(identity, [event], supervise=False)
    except Exception:
        log.exception("%s by SMS from device %s not stored", event.kind, sender.device_id)
        return Response("not stored", status_code=503)
    if outcome.refused:
        log.warning(
            "%s by SMS from device %s refused: %s",
            event.kind, sender.device_id, outcome.refused[0].code,
        )  # fmt: skip
    else:
        log.info(
            "%s event %s by SMS from device %s (%s)", event.kind, event.id, sender.device_id,
            "new" if outcome.created else "already stored",
        )  # fmt: skip
    return _no_reply()
