"""Twilio's webhooks: the call's script (TwiML), the keypress, and delivery status.

Every route takes `TwilioForm`, so an unsigned or forged request is refused with 403 before
anything is read or changed. Pressing 1 acknowledges the alert in the called person's name
through the same transition as the console's button (with its 409 rules); 2 asks for the
next step at once; anything else, or nothing, repeats the message.
"""

from __future__ import annotations

import uuid

from fastapi import APIRouter
from fastapi.responses import Response
from sqlmodel import Session
from twilio.twiml.voice_response import VoiceResponse

from server.alerts import service as alerts
from server.alerts.lifecycle import Action
from server.alerts.models import Alert, AlertEvent, AlertStatus
from server.auth.models import User
from server.common.time import utcnow
from server.config import Settings
from server.deps import HandlerRoute, SessionDep, SettingsDep
from server.errors import ApiError
from server.i18n import Locale, translate
from server.notify.models import Channel, Notification, NotificationStatus
from server.notify.service import mask_recipient
from server.notify.twilio_api import TwilioForm
from server.oncall.escalation import escalate_now
from server.realtime import mark_changed

router = APIRouter(route_class=HandlerRoute, prefix="/api/v1/twilio", tags=["twilio"])

# Twilio's Thai text-to-speech voice (Polly has none); the pair must match or <Say> fails.
THAI_VOICE = "Google.th-TH-Standard-A"
REPEATS = 3
GATHER_SECONDS = 8


def _twiml(response: VoiceResponse) -> Response:
    return Response(str(response), media_type="text/xml")


def _say(target: VoiceResponse, text: str, locale: Locale) -> None:
    if locale == "th":
        target.say(text, voice=THAI_VOICE, language="th-TH")
    else:
        target.say(text, language="en-US")


def _call(session: Session, notification_id: uuid.UUID) -> Notification | None:
    row = session.get(Notification, notification_id)
    return row if row is not None and row.channel == Channel.VOICE else None


def _locale(row: Notification) -> Locale:
    return "en" if row.locale == "en" else "th"


def _already(session: Session, alert: Alert, locale: Locale) -> str:
    by = session.get(User, alert.acknowledged_by) if alert.acknowledged_by else None
    if by is not None:
        return translate("oncall.voice.already_by", locale, name=by.full_name)
    return translate("oncall.voice.already", locale)


@router.post("/voice/{notification_id}", include_in_schema=False)
def voice(
    notification_id: uuid.UUID, form: TwilioForm, session: SessionDep, settings: SettingsDep
) -> Response:
    response = VoiceResponse()
    row = _call(session, notification_id)
    if row is None or row.subject_id is None:
        response.hangup()
        return _twiml(response)
    answered_by = str(form.get("AnsweredBy") or "")
    if answered_by.startswith("machine") or answered_by == "fax":
        # A voicemail cannot acknowledge; the chain goes on by time.
        _call_status(session, row, "voicemail")
        session.commit()
        response.hangup()
        return _twiml(response)
    return _repeat(session, settings, notification_id, 1)


@router.post("/voice/{notification_id}/again", include_in_schema=False)
def voice_again(
    notification_id: uuid.UUID,
    n: int,
    form: TwilioForm,
    session: SessionDep,
    settings: SettingsDep,
) -> Response:
    """No key (or a wrong one): say it again, a few times, then hang up."""
    if n >= REPEATS:
        response = VoiceResponse()
        row = _call(session, notification_id)
        if row is not None:
            _say(response, translate("oncall.voice.goodbye", _locale(row)), _locale(row))
        response.hangup()
        return _twiml(response)
    return _repeat(session, settings, notification_id, n + 1)


def _repeat(session: Session, settings: Settings, notification_id: uuid.UUID, n: int) -> Response:
    response = VoiceResponse()
    row = _call(session, notification_id)
    if row is None or row.subject_id is None:
        response.hangup()
        return _twiml(response)
    locale = _locale(row)
    alert = session.get(Alert, row.subject_id)
    if alert is None or alert.status != AlertStatus.NEW:
        if alert is not None:
            _say(response, _already(session, alert, locale), locale)
        response.hangup()
        return _twiml(response)
    kind = translate(f"alerts.kind.{row.params.get('kind', 'panic')}", locale)
    gather = response.gather(
        input="dtmf",
        num_digits=1,
        timeout=GATHER_SECONDS,
        action=f"{settings.webhook_base}/api/v1/twilio/voice/{notification_id}/gather",
        method="POST",
    )
    _say(
        gather,
        translate(
            "oncall.voice.prompt",
            locale,
            name=row.params.get("name", ""),
            kind=kind,
            community=row.params.get("community", ""),
        ),
        locale,
    )
    _say(gather, translate("oncall.voice.keys", locale), locale)
    response.redirect(
        f"{settings.webhook_base}/api/v1/twilio/voice/{notification_id}/again?n={n}",
        method="POST",
    )
    return _twiml(response)


@router.post("/voice/{notification_id}/gather", include_in_schema=False)
def gather(
    notification_id: uuid.UUID, form: TwilioForm, session: SessionDep, settings: SettingsDep
) -> Response:
    response = VoiceResponse()
    row = _call(session, notification_id)
    if row is None or row.subject_id is None:
        response.hangup()
        return _twiml(response)
    locale = _locale(row)
    digits = str(form.get("Digits") or "")
    person = session.get(User, row.user_id) if row.user_id else None
    alert_id = row.subject_id
    if digits == "1" and person is not None:
        try:
            alerts.transition(session, alert_id=alert_id, action=Action.ACKNOWLEDGE, actor=person)
        except ApiError as exc:
            if exc.status_code != 409:
                raise
            alert = session.get(Alert, alert_id, populate_existing=True)
            if alert is not None:
                _say(response, _already(session, alert, locale), locale)
            response.hangup()
            return _twiml(response)
        _mark(session, notification_id, "acknowledged")
        session.commit()
        _say(response, translate("oncall.voice.acknowledged", locale), locale)
        response.hangup()
        return _twiml(response)
    if digits == "2":
        escalate_now(session, alert_id=alert_id, actor=person)
        _mark(session, notification_id, "needs_backup")
        session.commit()
        _say(response, translate("oncall.voice.escalating", locale), locale)
        response.hangup()
        return _twiml(response)
    return _repeat(session, settings, notification_id, 1)


def _mark(session: Session, notification_id: uuid.UUID, provider_status: str) -> None:
    row = session.get(Notification, notification_id, populate_existing=True)
    if row is not None:
        row.provider_status = provider_status
        row.updated_at = utcnow()
        session.add(row)


# Twilio's words → our row's status; the rest (ringing, answered, sent) only note progress.
FINAL = {
    "delivered": NotificationStatus.DELIVERED,
    "completed": NotificationStatus.DELIVERED,
    "undelivered": NotificationStatus.FAILED,
    "failed": NotificationStatus.FAILED,
    "busy": NotificationStatus.FAILED,
    "no-answer": NotificationStatus.FAILED,
    "canceled": NotificationStatus.FAILED,
}
# What lands on the alert's timeline (an answered call, an unanswered one, a failed SMS).
TIMELINE = {"in-progress", "answered", "busy", "no-answer", "failed", "undelivered", "voicemail"}


def _call_status(session: Session, row: Notification, status: str) -> None:
    now = utcnow()
    if row.provider_status in {"acknowledged", "needs_backup"} and status == "completed":
        status_value = NotificationStatus.DELIVERED
    else:
        status_value = FINAL.get(status, row.status)
    if row.provider_status not in {"acknowledged", "needs_backup"}:
        row.provider_status = status
    row.status = status_value
    row.updated_at = now
    session.add(row)
    if row.subject == "alert" and row.subject_id is not None and status in TIMELINE:
        person = session.get(User, row.user_id) if row.user_id else None
        key = "answered" if status in {"in-progress", "answered"} else status.replace("-", "_")
        session.add(
            AlertEvent(
                alert_id=row.subject_id,
                at=now,
                action=f"{row.channel.value}_status",
                note_key=f"oncall.timeline.{row.channel.value}_{key}",
                params={"who": person.full_name if person else mask_recipient(row.to)},
            )
        )
        mark_changed(session, row.subject_id)


@router.post("/status/{notification_id}", include_in_schema=False)
def status_callback(notification_id: uuid.UUID, form: TwilioForm, session: SessionDep) -> Response:
    row = session.get(Notification, notification_id)
    if row is None:
        return Response(status_code=204)
    status = str(form.get("CallStatus") or form.get("MessageStatus") or "")
    if status:
        if form.get("ErrorCode"):
            row.error = f"twilio error {form.get('ErrorCode')}"[:500]
        _call_status(session, row, status)
        session.commit()
    return Response(status_code=204)
