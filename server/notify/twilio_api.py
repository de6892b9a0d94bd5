"""Twilio: the REST client, sending one notification, and checking webhook signatures.

The pieces any Twilio route needs live here: `twilio_client(settings)` and the `TwilioForm`
dependency, which answers 403 unless `X-Twilio-Signature` matches the request as Twilio made
it (the URL rebuilt from ELDERCARE_PUBLIC_URL, since behind a proxy the URL this process
sees is not the one Twilio signed).
"""

from __future__ import annotations

import logging
from typing import Annotated, Any
from urllib.parse import urlsplit, urlunsplit

import requests
from fastapi import Depends, Request
from requests.adapters import HTTPAdapter
from starlette.datastructures import FormData
from twilio.base.exceptions import TwilioException, TwilioRestException
from twilio.http.http_client import TwilioHttpClient
from twilio.http.response import Response
from twilio.request_validator import RequestValidator

from server.config import Settings
from server.errors import ApiError
from server.notify.models import Channel, Notification
from server.notify.phones import to_e164
from server.notify.service import render_message

log = logging.getLogger(__name__)

SIGNATURE_HEADER = "X-Twilio-Signature"
CALL_EVENTS = ["initiated", "ringing", "answered", "completed"]
# Long enough for a person woken at night to reach the phone, short of most voicemails.
RING_SECONDS = 30


class RedirectedHttpClient(TwilioHttpClient):  # type: ignore[misc]
    """Sends Twilio's requests to another base URL (a local fake), path and query kept.

    The SDK hard-codes its hosts; this is the one seam it offers (`http_client=`).
    """

    def __init__(self, base_url: str, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        parts = urlsplit(base_url)
        self._scheme, self._netloc = parts.scheme, parts.netloc

    def request(self, method: str, url: str, *args: Any, **kwargs: Any) -> Response:
        parts = urlsplit(url)
        if parts.netloc.endswith("twilio.com"):
            url = urlunsplit((self._scheme, self._netloc, parts.path, parts.query, ""))
        return super().request(method, url, *args, **kwargs)


def twilio_client(settings: Settings, *, timeout: float = 10.0, connections: int = 8) -> Any:
    """The SDK's `Client` (imported here: a process without Twilio never loads it).

    Its connection pool holds `connections` (the sender's concurrency): the SDK's default
    (cores + 4) would drop and re-open (a new TLS handshake) a connection on most sends once
    more requests than that run at once."""
    from twilio.rest import Client

    http_client = (
        RedirectedHttpClient(settings.twilio_api_base, timeout=timeout)
        if settings.twilio_api_base
        else TwilioHttpClient(timeout=timeout)
    )
    if http_client.session is not None:
        adapter = HTTPAdapter(pool_connections=2, pool_maxsize=max(1, connections))
        http_client.session.mount("https://", adapter)
        http_client.session.mount("http://", adapter)
    return Client(settings.twilio_account_sid, settings.twilio_auth_token, http_client=http_client)


def voice_url(settings: Settings, notification_id: object) -> str:
    return f"{settings.webhook_base}/api/v1/twilio/voice/{notification_id}"


def status_url(settings: Settings, notification_id: object) -> str:
    return f"{settings.webhook_base}/api/v1/twilio/status/{notification_id}"


class SendFailed(Exception):
    """A provider refused or could not be reached; `retry` says whether trying again helps."""

    def __init__(self, message: str, *, retry: bool) -> None:
        super().__init__(message)
        self.retry = retry


class TwilioTransport:
    """Sends one SMS or places one call; the sender loop owns retries and bookkeeping."""

    channels = frozenset({Channel.SMS, Channel.VOICE})

    def __init__(self, settings: Settings, *, timeout: float = 10.0, connections: int = 8) -> None:
        self.settings = settings
        self.client = twilio_client(settings, timeout=timeout, connections=connections)
        # The SDK imports its (large, generated) API modules on first use: done now, at
        # start-up, so the first call of the process's life is not seconds late.
        _ = (self.client.calls, self.client.messages)

    def send(self, notification: Notification) -> str:
        try:
            to = to_e164(notification.to)
        except ValueError as exc:
            raise SendFailed(str(exc), retry=False) from exc
        try:
            if notification.channel == Channel.VOICE:
                call = self.client.calls.create(
                    to=to,
                    from_=self.settings.twilio_from,
                    url=voice_url(self.settings, notification.id),
                    status_callback=status_url(self.settings, notification.id),
                    status_callback_event=CALL_EVENTS,
                    timeout=RING_SECONDS,
                    machine_detection="Enable",
                )
                return str(call.sid)
            message = self.client.messages.create(
                to=to,
                from_=self.settings.twilio_from,
                body=render_message(notification, base=self.settings.webhook_base),
                status_callback=status_url(self.settings, notification.id),
            )
            return str(message.sid)
        except TwilioRestException as exc:
            status = int(exc.status or 0)
            retry = status >= 500 or status == 429
            raise SendFailed(f"twilio {status} {exc.code}", retry=retry) from exc
        except TwilioException as exc:
            status = int(getattr(exc, "status", 0) or 0)
            raise SendFailed(f"twilio {status}", retry=status >= 500 or status == 429) from exc
        except requests.RequestException as exc:  # timeouts, refused connections
            raise SendFailed(f"network: {type(exc).__name__}", retry=True) from exc


def public_request_url(settings: Settings, request: Request) -> str:
    url = settings.webhook_base + request.url.path
    return f"{url}?{request.url.query}" if request.url.query else url


async def twilio_form(request: Request) -> FormData:
    """The webhook's form, once its signature checks out; 403 otherwise (and when Twilio is
    not configured, since nothing could then be signed)."""
    settings: Settings = request.app.state.settings
    form = await request.form()
    signature = request.headers.get(SIGNATURE_HEADER)
    token = settings.twilio_auth_token
    if not token or not signature:
        raise ApiError(403, "bad_signature", "twilio.error.bad_signature")
    # The form as-is: it keeps repeated keys, which the signature covers.
    if not RequestValidator(token).validate(public_request_url(settings, request), form, signature):
        log.warning("twilio: refused a webhook with a bad signature on %s", request.url.path)
        raise ApiError(403, "bad_signature", "twilio.error.bad_signature")
    return form


TwilioForm = Annotated[FormData, Depends(twilio_form)]
