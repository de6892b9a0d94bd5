"""LINE: linking a contact by a one-time code, sending pushes, and the signed webhook.

Families in Thailand live on LINE, but a push can fail (a blocked account, the channel's
monthly quota), so SMS stays the fallback: a LINE message that fails for good is sent again
by SMS. Pushes carry `X-Line-Retry-Key` (the notification's id), so a retry after a timeout
is never delivered twice (LINE answers 409 for a key it has seen: that counts as sent).
"""

from __future__ import annotations

import logging
import secrets
import uuid
from datetime import timedelta
from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response
from pydantic import BaseModel
from sqlmodel import Session, col, select
from starlette.concurrency import run_in_threadpool

from server.auth.models import Role, User
from server.common.time import utcnow
from server.config import Settings
from server.deps import HandlerRoute, SessionDep, require_roles
from server.elders.models import EmergencyContact
from server.errors import ApiError
from server.i18n import Locale
from server.notify.models import Channel, LineLink, Notification, NotificationStatus
from server.notify.service import ParamValue, get_notifier, render_message
from server.notify.twilio_api import SendFailed

log = logging.getLogger(__name__)

CODE_MINUTES = 30
REQUEST_TIMEOUT = (3.0, 10.0)


class LineTransport:
    channels = frozenset({Channel.LINE})

    def __init__(self, settings: Settings) -> None:
        # The SDK takes seconds to import; only a process with LINE configured pays for it.
        from linebot.v3.messaging import ApiClient, Configuration, MessagingApi

        config = Configuration(
            access_token=settings.line_channel_access_token,
            **({"host": settings.line_api_base.rstrip("/")} if settings.line_api_base else {}),
        )
        self.api = MessagingApi(ApiClient(config))
        self.base = settings.webhook_base  # links in messages (e.g. a survey) point here

    def send(self, notification: Notification) -> str:
        from linebot.v3.messaging import ApiException, PushMessageRequest, TextMessage

        text = render_message(notification, base=self.base)
        try:
            self.api.push_message(
                PushMessageRequest(to=notification.to, messages=[TextMessage(text=text)]),
                x_line_retry_key=str(notification.id),
                _request_timeout=REQUEST_TIMEOUT,
            )
        except ApiException as exc:
            status = int(exc.status or 0)
            if status == 409:  # this retry key was accepted before: it was sent
                return f"line:{notification.id}"
            raise SendFailed(f"line {status}", retry=status >= 500 or status == 429) from exc
        except Exception as exc:  # urllib3 timeouts and refused connections
            raise SendFailed(f"line network: {type(exc).__name__}", retry=True) from exc
        return f"line:{notification.id}"


class MultiTransport:
    """Routes each notification to the transport for its channel."""

    def __init__(self, *transports: object) -> None:
        self.by_channel = {
            channel: transport
            for transport in transports
            for channel in getattr(transport, "channels", frozenset())
        }
        self.channels = frozenset(self.by_channel)

    def send(self, notification: Notification) -> str:
        transport = self.by_channel[notification.channel]
        ref: str = transport.send(notification)  # type: ignore[attr-defined]
        return ref


def linked_user(session: Session, contact_id: uuid.UUID) -> str | None:
    return session.exec(
        select(LineLink.line_user_id).where(
            LineLink.contact_id == contact_id, col(LineLink.line_user_id).is_not(None)
        )
    ).first()


def message_contact(
    session: Session,
    *,
    contact: EmergencyContact,
    template_key: str,
    params: dict[str, ParamValue],
    locale: Locale = "th",
    subject: str | None = None,
    subject_id: uuid.UUID | None = None,
) -> Notification:
    """LINE if the contact linked an account and LINE is on; SMS otherwise."""
    notifier = get_notifier()
    line_user = linked_user(session, contact.id)
    if line_user and Channel.LINE in getattr(notifier, "sends", frozenset()):
        row = Notification(
            channel=Channel.LINE,
            to=line_user,
            template_key=template_key,
            params=dict(params),
            locale=locale,
            status=NotificationStatus.QUEUED,
            subject=subject,
            subject_id=subject_id,
        )
        row.next_attempt_at = row.created_at
        row.step = f"contact:{contact.id}"
        session.add(row)
        return row
    return notifier.send_sms(
        session,
        to=contact.phone,
        template_key=template_key,
        params=params,
        locale=locale,
        subject=subject,
        subject_id=subject_id,
    )


def fall_back_to_sms(session: Session, row: Notification) -> None:
    """A LINE message that failed for good goes again by SMS to the contact's phone."""
    if row.channel != Channel.LINE or not (row.step or "").startswith("contact:"):
        return
    contact = session.get(EmergencyContact, uuid.UUID((row.step or "")[len("contact:") :]))
    if contact is None:
        return
    get_notifier().send_sms(
        session,
        to=contact.phone,
        template_key=row.template_key,
        params=dict(row.params),
        locale="en" if row.locale == "en" else "th",
        subject=row.subject,
        subject_id=row.subject_id,
    )


# --- linking and the webhook --------------------------------------------------------------

router = APIRouter(route_class=HandlerRoute, prefix="/api/v1/line", tags=["line"])
Staff = Annotated[User, Depends(require_roles(Role.ADMIN, Role.SUPERVISOR, Role.CARE_MANAGER))]


class LinkCodeIn(BaseModel):
    contact_id: uuid.UUID
    send_sms: bool = False


class LinkCodeOut(BaseModel):
    code: str
    expires_at: str


def issue_link_code(
    session: Session, *, contact: EmergencyContact, actor: User, send_sms: bool
) -> LinkCodeOut:
    """A one-time code for the contact to send to the centre's LINE account (adds; the
    caller commits). Sent by SMS to the contact's own number if asked."""
    code = f"{secrets.randbelow(1_000_000):06d}"
    expires = utcnow() + timedelta(minutes=CODE_MINUTES)
    session.add(
        LineLink(contact_id=contact.id, code=code, code_expires_at=expires, created_by=actor.id)
    )
    if send_sms:
        get_notifier().send_sms(
            session,
            to=contact.phone,
            template_key="notify.line.link_code",
            params={"code": code},
            subject="contact",
            subject_id=contact.id,
        )
    return LinkCodeOut(code=code, expires_at=expires.isoformat())


@router.post("/link-codes", status_code=201)
def issue_code(body: LinkCodeIn, session: SessionDep, user: Staff) -> LinkCodeOut:
    """A one-time code the contact sends to the centre's LINE account to link it."""
    contact = session.get(EmergencyContact, body.contact_id)
    if contact is None:
        raise ApiError(404, "not_found", "common.not_found")
    issued = issue_link_code(session, contact=contact, actor=user, send_sms=body.send_sms)
    session.commit()
    return issued


def link_by_code(session: Session, *, code: str, line_user_id: str) -> LineLink | None:
    now = utcnow()
    link = session.exec(
        select(LineLink).where(
            LineLink.code == code.strip(),
            col(LineLink.code_expires_at) > now,
            col(LineLink.line_user_id).is_(None),
        )
    ).first()
    if link is None:
        return None
    link.line_user_id = line_user_id
    link.linked_at = now
    link.code = None  # used once
    link.code_expires_at = None
    session.add(link)
    return link


@router.post("/webhook", include_in_schema=False)
async def webhook(request: Request, session: SessionDep) -> Response:
    settings: Settings = request.app.state.settings
    signature = request.headers.get("x-line-signature")
    if not settings.line_channel_secret or not signature:
        raise ApiError(403, "bad_signature", "twilio.error.bad_signature")
    from linebot.v3.exceptions import InvalidSignatureError
    from linebot.v3.webhook import WebhookParser
    from linebot.v3.webhooks import MessageEvent, TextMessageContent

    body = (await request.body()).decode()
    try:
        events = WebhookParser(settings.line_channel_secret).parse(body, signature)
    except InvalidSignatureError:
        log.warning("line: refused a webhook with a bad signature")
        raise ApiError(403, "bad_signature", "twilio.error.bad_signature") from None
    codes = [
        (event.message.text, user_id)
        for event in (events if isinstance(events, list) else [])
        if isinstance(event, MessageEvent) and isinstance(event.message, TextMessageContent)
        and (user_id := getattr(event.source, "user_id", None))
    ]  # fmt: skip

    def link_all() -> None:  # database work off the event loop
        for code, user_id in codes:
            link_by_code(session, code=code, line_user_id=user_id)
        session.commit()

    await run_in_threadpool(link_all)
    return Response(status_code=200)
