"""SMS over AT commands against a simulated modem on a pseudo-terminal, and the uplink's use
of it when no network path reaches the server."""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from device_agent.cellular import Modem, ModemError, sms_text
from device_agent.config import CellularConfig, UplinkConfig
from device_agent.outbox import Outbox
from device_agent.uplink import Uplink
from tests.support.events import fall_event, panic_event, spo2_event
from tests.support.live import free_port
from tests.support.modem import SimulatedModem
from tests.support.waiting import wait_until_async

from .fake_server import TOKEN

CENTRE = "+6621234567"


@pytest.fixture
async def modem() -> AsyncIterator[SimulatedModem]:
    sim = SimulatedModem()
    sim.start()
    yield sim
    await sim.stop()


async def test_an_sms_is_sent_with_at_commands_in_text_mode(modem: SimulatedModem) -> None:
    reference = await Modem(modem.path).send_sms(CENTRE, "ELDERCARE PANIC x")
    assert reference == 1
    assert modem.sent == [(CENTRE, "ELDERCARE PANIC x")]
    assert modem.commands[:3] == ["ATE0", "AT+CMGF=1", f'AT+CMGS="{CENTRE}"']
    # The port is closed after each message and opens again for the next.
    assert await Modem(modem.path).send_sms(CENTRE, "second") == 2


async def test_a_modem_without_network_raises(modem: SimulatedModem) -> None:
    modem.registered = False
    with pytest.raises(ModemError, match="CMGS"):
        await Modem(modem.path, timeout_s=2).send_sms(CENTRE, "text")
    assert modem.sent == []


def test_the_text_names_the_kind_the_event_and_a_test_press() -> None:
    alarm = panic_event()
    text = sms_text(alarm.model_dump_json())
    assert text.split() == [
        "ELDERCARE", "PANIC", str(alarm.id), json.loads(alarm.model_dump_json())["occurred_at"]
    ]  # fmt: skip
    assert sms_text(panic_event(test=True).model_dump_json()).endswith(" TEST")
    assert sms_text(fall_event().model_dump_json()).split()[1] == "FALL"
    assert len(text) <= 160 and text.isascii()  # one GSM-7 segment


async def test_a_panic_no_path_delivers_goes_by_sms_once(
    modem: SimulatedModem, tmp_path: Path
) -> None:
    outbox = Outbox(tmp_path / "outbox.sqlite3")
    nowhere = f"http://127.0.0.1:{free_port()}"  # nothing listens: both paths fail
    uplink = Uplink(
        outbox=outbox,
        server_url=nowhere,
        token=TOKEN,
        settings=UplinkConfig(panic_ack_deadline_s=0.5, panic_retry_s=0.2, backoff_cap_s=0.5),
        cellular=CellularConfig(modem=Path(modem.path), centre_number=CENTRE, sms_after_s=1.5),
    )
    task = asyncio.create_task(uplink.run())
    try:
        await outbox.emit(spo2_event())
        alarm = panic_event()
        await outbox.emit(alarm)
        await wait_until_async(lambda: len(modem.sent) == 1, within=10)
        await asyncio.sleep(1.5)  # the next rounds do not text again
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
    assert modem.sent == [(CENTRE, sms_text(alarm.model_dump_json()))]
    assert uplink.state.emergency_sms == 1
    # The text is no ack: the panic stays queued until the server itself acks it.
    assert await outbox.urgent_depth() == 1
    await outbox.close()
