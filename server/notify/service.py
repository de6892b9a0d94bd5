"""The Notifier protocol and its default, recording implementation."""

from __future__ import annotations

import logging
import uuid
from typing import NotRequired, Protocol, TypedDict, Unpack

from sqlmodel import Session

from server.i18n import Locale, translate
from server.notify.models import Channel, Notification, NotificationStatus

log = logging.getLogger(__name__)

ParamValue = str | int | float


class Message(TypedDict):
    """What every channel sends: to whom, which catalogue template with what, and about what."""

    to: str
    template_key: str
    params: dict[str, ParamValue]
    locale: NotRequired[Locale]  # Thai unless said
    subject: NotRequired[str | None]  # what it is about, e.g. "alert"
    subject_id: NotRequired[uuid.UUID | None]


class Notifier(Protocol):
    """How the system reaches people. Calls join the caller's transaction."""

    def send_sms(self, session: Session, **message: Unpack[Message]) -> Notification: ...

    def place_call(
        self, session: Session, *, acknowledge_url: str | None = None, **message: Unpack[Message]
    ) -> Notification: ...

    def console(self, session: Session, **message: Unpack[Message]) -> Notification: ...


def mask_recipient(to: str) -> str:
    """Enough to tell recipients apart in a log, not enough to call them."""
    return "***" + to[-4:] if len(to) > 4 else "***"


def render_message(notification: Notification, **extra: ParamValue) -> str:
    """The text; `extra` fills what only the sender knows (e.g. the public base URL)."""
    locale: Locale = "en" if notification.locale == "en" else "th"
    return translate(notification.template_key, locale, **{**notification.params, **extra})


class RecordingNotifier:
    """Records every message and logs that it would send it; sends nothing."""

    # Rows of these channels wait for the sender loop; the rest are only recorded.
    sends: frozenset[Channel] = frozenset()

    def _record(self, session: Session, channel: Channel, message: Message) -> Notification:
        to, template_key = message["to"], message["template_key"]
        subject, subject_id = message.get("subject"), message.get("subject_id")
        notification = Notification(
            channel=channel,
            to=to,
            template_key=template_key,
            params=dict(message["params"]),
            locale=message.get("locale", "th"),
            status=NotificationStatus.QUEUED
            if channel in self.sends
            else NotificationStatus.RECORDED,
            subject=subject,
            subject_id=subject_id,
        )
        if channel in self.sends:
            notification.next_attempt_at = notification.created_at
        session.add(notification)
        # Only the template key: params can name the elder, and logs are not for that.
        log.info(
            "notify: %s %s to %s template=%s %s=%s",
            "queued" if channel in self.sends else "would send",
            channel.value,
            mask_recipient(to),
            template_key,
            subject or "-",
            subject_id or "-",
        )
        return notification

    def send_sms(self, session: Session, **message: Unpack[Message]) -> Notification:
        return self._record(session, Channel.SMS, message)

    def place_call(
        self, session: Session, *, acknowledge_url: str | None = None, **message: Unpack[Message]
    ) -> Notification:
        return self._record(session, Channel.VOICE, message)

    def console(self, session: Session, **message: Unpack[Message]) -> Notification:
        return self._record(session, Channel.CONSOLE, message)


_notifier: Notifier = RecordingNotifier()


def get_notifier() -> Notifier:
    return _notifier


def set_notifier(notifier: Notifier) -> Notifier:
    """Replaces the process-wide notifier; returns the previous one (tests restore it)."""
    global _notifier
    previous, _notifier = _notifier, notifier
    return previous
