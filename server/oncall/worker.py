"""The background loop of a server process: run due escalation steps, then send what is queued
(and, every half minute, text care managers about consultations waiting past their time).

Both halves are safe with several processes (see `oncall.escalation` and `notify.sender`), so
every process runs one. Sending follows the step in the same pass, and the loop sleeps until
the next step is due (at most a tick), which keeps "step due" to "request made" to the time
the pass takes.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager

import sqlalchemy as sa
from fastapi import FastAPI
from sqlalchemy.engine import Engine

from server.config import Settings
from server.notify import RecordingNotifier, set_notifier
from server.notify.config import NotifySettings, notify_settings
from server.notify.line import LineTransport, MultiTransport
from server.notify.models import Channel
from server.notify.sender import QueueingNotifier, Transport, send_due
from server.notify.twilio_api import TwilioTransport
from server.oncall import escalation
from server.oncall.config import OncallSettings
from server.telehealth import overdue

log = logging.getLogger(__name__)

CONSULT_LOOK_S = 30.0
# A step due now that another process holds is looked at again after this, not in a spin.
MIN_SLEEP_S = 0.01


def one_pass(
    engine: Engine,
    *,
    transport: Transport | None,
    oncall: OncallSettings,
    notify: NotifySettings,
    pool: ThreadPoolExecutor | None = None,
) -> None:
    try:
        escalation.run_due(engine, batch=oncall.batch)
    except sa.exc.OperationalError as exc:
        log.warning("escalation: tick failed (%s); will retry", type(exc).__name__)
    if transport is None:
        return
    try:
        while send_due(engine, transport, settings=notify, pool=pool) >= notify.batch:
            pass
    except sa.exc.OperationalError as exc:
        log.warning("sender: pass failed (%s); will retry", type(exc).__name__)


@contextmanager
def running(
    engine: Engine,
    *,
    transport: Transport | None,
    oncall: OncallSettings,
    notify: NotifySettings,
    app_url: str | None = None,
) -> Iterator[threading.Thread | None]:
    """`app_url`: where texts to care managers point (late consultations are looked for
    only when it is given)."""
    if not oncall.worker:
        yield None
        return
    stop = threading.Event()
    pool = ThreadPoolExecutor(max_workers=notify.concurrency, thread_name_prefix="sender")

    def loop() -> None:
        next_consult_look = 0.0
        while not stop.is_set():
            sleep = oncall.tick_seconds
            try:
                if app_url is not None and time.monotonic() >= next_consult_look:
                    # Hours of slack: a look every half minute is plenty, and queues the text
                    # before this pass sends.
                    next_consult_look = time.monotonic() + CONSULT_LOOK_S
                    overdue.notify_overdue(engine, app_url=app_url)
                one_pass(engine, transport=transport, oncall=oncall, notify=notify, pool=pool)
                # Wake when the next step is due, not up to a tick after it.
                sleep = escalation.seconds_until_next_due(engine, longest=oncall.tick_seconds)
            except sa.exc.OperationalError as exc:
                log.warning("oncall worker: look failed (%s); will retry", type(exc).__name__)
            except Exception:  # the loop outlives any one bad pass
                log.exception("oncall worker: pass failed")
            stop.wait(max(sleep, MIN_SLEEP_S))

    thread = threading.Thread(target=loop, name="oncall-worker", daemon=True)
    thread.start()
    try:
        yield thread
    finally:
        stop.set()
        thread.join(timeout=15)
        pool.shutdown(wait=True)


@contextmanager
def oncall_worker(app: FastAPI) -> Iterator[None]:
    """The process's escalation and sending loop, with the notifier its settings call for:
    Twilio (SMS, calls) and LINE when configured, otherwise only recorded."""
    settings: Settings = app.state.settings
    notify: NotifySettings = getattr(app.state, "notify_settings", None) or notify_settings()
    transports: list[Transport] = []
    sends: set[Channel] = set()
    if settings.phone_escalation:
        transports.append(
            TwilioTransport(
                settings,
                timeout=notify.request_timeout_seconds,
                connections=notify.concurrency,
            )
        )
        sends |= {Channel.SMS, Channel.VOICE}
        log.info("phone escalation is on: SMS and calls go out through Twilio")
    else:
        log.warning(
            "phone escalation is off: set ELDERCARE_TWILIO_ACCOUNT_SID, "
            "ELDERCARE_TWILIO_AUTH_TOKEN, ELDERCARE_TWILIO_FROM and ELDERCARE_PUBLIC_URL "
            "to call and text people; messages are only recorded"
        )
    if settings.line_configured:
        transports.append(LineTransport(settings))
        sends.add(Channel.LINE)
    previous = set_notifier(QueueingNotifier(frozenset(sends)) if sends else RecordingNotifier())
    transport: Transport | None = MultiTransport(*transports) if transports else None
    oncall: OncallSettings = getattr(app.state, "oncall_settings", None) or OncallSettings()
    try:
        with running(app.state.engine, transport=transport, oncall=oncall, notify=notify,
                     app_url=settings.webhook_base):  # fmt: skip
            yield
    finally:
        set_notifier(previous)
