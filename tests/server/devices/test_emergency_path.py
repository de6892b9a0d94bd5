"""A panic reaches the server within seconds when the link dies silently or WebSockets are
blocked: the real agent uplink, the real server, a loopback proxy playing the fault."""

from __future__ import annotations

import asyncio
import contextlib
import time
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from fastapi import FastAPI
from sqlmodel import Session, col, func, select

from device_agent.clock import utc_now
from device_agent.config import UplinkConfig
from device_agent.outbox import Outbox
from device_agent.uplink import Uplink
from eldercare_protocol import PanicEvent, PanicPayload
from server.alerts.models import Alert, AlertEvent
from server.devices.models import AgentEvent
from tests.support.events import spo2_event
from tests.support.hubs import Hub, live_server, make_hub
from tests.support.proxy import FaultProxy

pytestmark = pytest.mark.slow

# What a hub ships with, but quick to reconnect so the test does not wait on backoff.
SETTINGS = UplinkConfig(backoff_base_s=0.1, backoff_cap_s=1.0)


def press() -> PanicEvent:
    return PanicEvent(
        id=uuid.uuid4(), device="button", occurred_at=utc_now(),
        payload=PanicPayload(source="local"),
    )  # fmt: skip


def stored(session: Session, event_id: uuid.UUID) -> int:
    session.expire_all()
    return session.exec(
        select(func.count()).select_from(AgentEvent).where(col(AgentEvent.id) == event_id)
    ).one()


async def committed_within(session: Session, event_id: uuid.UUID, seconds: float) -> float:
    started = time.monotonic()
    while time.monotonic() - started < seconds:
        if await asyncio.to_thread(stored, session, event_id):
            return time.monotonic() - started
        await asyncio.sleep(0.02)
    raise AssertionError(f"panic not committed within {seconds} s")


def one_alert_for(session: Session, event_id: uuid.UUID) -> None:
    session.expire_all()
    assert stored(session, event_id) == 1
    alerts = session.exec(
        select(AlertEvent.alert_id).where(col(AlertEvent.source_event_id) == event_id)
    ).all()
    assert len(alerts) == 1
    assert session.exec(select(func.count()).select_from(Alert)).one() == 1


@contextlib.asynccontextmanager
async def hub_through_proxy(
    app: FastAPI, hub: Hub, tmp_path: Path, *, block_websockets: bool = False
) -> AsyncIterator[tuple[Uplink, FaultProxy, Outbox]]:
    with live_server(app) as url:
        port = urlsplit(url).port
        assert port is not None
        proxy = FaultProxy("127.0.0.1", port)
        proxy.block_websockets = block_websockets
        await proxy.start()
        outbox = Outbox(tmp_path / "outbox.sqlite3")
        uplink = Uplink(outbox=outbox, server_url=proxy.url, token=hub.token, settings=SETTINGS)
        task = asyncio.create_task(uplink.run())
        try:
            yield uplink, proxy, outbox
        finally:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
            await proxy.stop()
            await outbox.close()


async def wait_for(condition: object, within: float = 15.0) -> None:
    deadline = time.monotonic() + within
    while not condition():  # type: ignore[operator]
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        await asyncio.sleep(0.02)


async def test_a_panic_pressed_on_a_silently_frozen_link_is_committed_within_5_s(
    app: FastAPI, session: Session, tmp_path: Path
) -> None:
    hub = make_hub(session)
    async with hub_through_proxy(app, hub, tmp_path) as (uplink, proxy, outbox):
        await outbox.emit(spo2_event(97))
        await wait_for(lambda: uplink.state.events_acked == 1)
        assert uplink.state.transport == "websocket"
        proxy.freeze()  # the open connection goes silent; it never closes
        alarm = press()
        await outbox.emit(alarm)
        took = await committed_within(session, alarm.id, 5.0)
        # The WebSocket, reopened, sends the panic again: still one row and one alert.
        await wait_for(lambda: uplink.state.transport == "websocket")
        await outbox.emit(spo2_event(96))
        await wait_for(lambda: uplink.state.events_acked >= 3)
    assert took <= 5.0
    assert uplink.state.sockets_aborted == 1
    one_alert_for(session, alarm.id)


async def test_a_panic_goes_over_http_when_websockets_are_blocked(
    app: FastAPI, session: Session, tmp_path: Path
) -> None:
    hub = make_hub(session)
    async with hub_through_proxy(app, hub, tmp_path, block_websockets=True) as (
        uplink,
        _,
        outbox,
    ):
        alarm = press()
        await outbox.emit(alarm)
        took = await committed_within(session, alarm.id, 5.0)
        await wait_for(lambda: uplink.state.events_acked == 1)
    assert took <= 5.0
    assert uplink.state.emergency_http_posts >= 1
    assert uplink.state.connections == 0  # the WebSocket never opened
    one_alert_for(session, alarm.id)


async def test_with_both_paths_dead_the_alert_opens_from_the_modems_sms_within_10_s(
    app: FastAPI, session: Session, tmp_path: Path
) -> None:
    import httpx
    from twilio.request_validator import RequestValidator

    from device_agent.config import CellularConfig
    from server.inbound_sms.router import SMS_WEBHOOK_PATH
    from server.inbound_sms.service import register_phone
    from tests.support.modem import SimulatedModem

    hub = make_hub(session)
    register_phone(session, device_id=hub.device_id, phone="+66812345678")
    session.commit()
    auth_token = "twilio-auth-token-for-tests-0123456789"
    centre = "+6621234567"
    with live_server(app) as ws_url:
        url = ws_url.replace("ws://", "http://")
        app.state.settings = app.state.settings.model_copy(
            update={"twilio_auth_token": auth_token, "public_url": url}
        )

        async def carrier_and_twilio(number: str, text: str) -> None:
            # The carrier delivers the text to the centre's number; Twilio calls the webhook.
            assert number == centre
            form = {
                "MessageSid": "SM" + uuid.uuid4().hex, "From": "+66812345678", "To": centre,
                "Body": text, "NumMedia": "0",
            }  # fmt: skip
            signature = RequestValidator(auth_token).compute_signature(url + SMS_WEBHOOK_PATH, form)
            async with httpx.AsyncClient(base_url=url) as twilio:
                reply = await twilio.post(
                    SMS_WEBHOOK_PATH, data=form, headers={"X-Twilio-Signature": signature}
                )
            assert reply.status_code == 200

        modem = SimulatedModem(on_sms=carrier_and_twilio)
        modem.start()
        port = urlsplit(url).port
        assert port is not None
        proxy = FaultProxy("127.0.0.1", port)
        await proxy.start()
        outbox = Outbox(tmp_path / "outbox.sqlite3")
        uplink = Uplink(
            outbox=outbox, server_url=proxy.url, token=hub.token, settings=SETTINGS,
            cellular=CellularConfig(modem=Path(modem.path), centre_number=centre),
        )  # fmt: skip
        task = asyncio.create_task(uplink.run())
        try:
            await outbox.emit(spo2_event(97))
            await wait_for(lambda: uplink.state.events_acked == 1)
            proxy.cut()  # every connection reset, new ones refused: no network path
            alarm = press()
            await outbox.emit(alarm)
            took = await committed_within(session, alarm.id, 10.0)
            assert modem.sent and alarm.id.hex[:8] in modem.sent[0][1]
            proxy.heal()  # the network comes back: the hub's own copy is acked, not stored again
            await wait_for(lambda: uplink.state.events_acked == 2, within=20)
        finally:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
            await proxy.stop()
            await outbox.close()
            await modem.stop()
    assert took <= 10.0
    assert len(modem.sent) == 1
    one_alert_for(session, alarm.id)
