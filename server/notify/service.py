"""The Notifier protocol and its default, recording implementation."""

from __future__ import annotations

import logging
import uuid
from typing import Protocol

from sqlmodel import Session

from server.i18n import Locale, translate
from server.notify.models import Channel, Notification, NotificationStatus

log = logging.getLogger(__name__)

ParamValue = str | int | float


class Notifier(Protocol):
    """How the system reaches people. Calls join the caller's transaction."""

    def send_sms(
        self,
        session: Session,
        *,
        to: str,
        template_key: str,
        params: dict[str, ParamValue],
        locale: Locale = "th",
        subject: str | None = None,
        subject_id: uuid.UUID | None = None,
    ) -> Notification: ...

    def place_call(
        self,
        session: Session,
        *,
        to: str,
        template_key: str,
        params: dict[str, ParamValue],
        locale: Locale = "th",
        subject: str | None = None,
        subject_id: uuid.UUID | None = None,
        acknowledge_url: str | None = None,
    ) -> Notification: ...

    def console(
        self,
        session: Session,
        *,
        to: str,
        template_key: str,
        params: dict[str, ParamValue],
        locale: Locale = "th",
        subject: str | None = None,
        subject_id: uuid.UUID | None = None,
    ) -> Notification: ...


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

    def _record(
        self,
        session: Session,
        channel: Channel,
        *,
        to: str,
        template_key: str,
        params: dict[str, ParamValue],
        locale: Locale,
        subject: str | None,
        subject_id: uuid.UUID | None,
    ) -> Notification:
        notification = Notification(
            channel=channel,
            to=to,
            template_key=template_key,
            params=dict(params),
            locale=locale,
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

    def send_sms(
        self,
        session: Session,
        *,
        to: str,
        template_key: str,
        params: dict[str, ParamValue],
        locale: Locale = "th",
        subject: str | None = None,
        subject_id: uuid.UUID | None = None,
    ) -> Notification:
        return self._record(
            session,
            Channel.SMS,
            to=to,
            template_key=template_key,
            params=params,
            locale=locale,
            subject=subject,
            subject_id=subject_id,
        )

    def place_call(
        self,
        session: Session,
        *,
        to: str,
        template_key: str,
        params: dict[str, ParamValue],
        locale: Locale = "th",
        subject: str | None = None,
        subject_id: uuid.UUID | None = None,
        acknowledge_url: str | None = None,
    ) -> Notification:
        return self._record(
            session,
            Channel.VOICE,
            to=to,
            template_key=template_key,
            params=params,
            locale=locale,
            subject=subject,
            subject_id=subject_id,
        )

    def console(
        self,
        session: Session,
        *,
        to: str,
        template_key: str,
        params: dict[str, ParamValue],
        locale: Locale = "th",
        subject: str | None = None,
        subject_id: uuid.UUID | None = None,
    ) -> Notification:
        return self._record(
            session,
            Channel.CONSOLE,
            to=to,
            template_key=template_key,
            params=params,
            locale=locale,
            subject=subject,
            subject_id=subject_id,
        )


_notifier: Notifier = RecordingNotifier()


def get_notifier() -> Notifier:
    return _notifier


def set_notifier(notifier: Notifier) -> Notifier:
    """Replaces the process-wide notifier; returns the previous one (tests restore it)."""
    global _notifier
    previous, _notifier = _notifier, notifier
    return previous
