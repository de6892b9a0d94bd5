"""Reading the health kit into a visit over Web Bluetooth, in real Chromium with no radio:
Chromium's Bluetooth emulation (CDP ``BluetoothEmulation``) plays a blood-pressure cuff and a
glucose meter; the chooser is answered through CDP ``DeviceAccess``.

Real in these tests: the chooser and its filters, connect, service discovery, ``getCharacteristic``,
``startNotifications`` (the subscription reaches the emulated device), the RACP write and its
bytes, the drop of the link, the adapter switched off, the chooser cancelled. The one stand-in:
the emulation cannot push an indication, so the measurement bytes (from the shared vectors,
tests/vectors/gatt.json) reach the page's subscribed handler through the app's
automation-only hook (``tests/support/ble_emulation.deliver``).
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, sync_playwright
from sqlmodel import Session, col, select

from device_agent.gatt.date_time import encode_date_time
from server.i18n import translate
from server.observations.models import Observation, ObservationValue
from tests.server.careapp.conftest import Team, app_built, sign_in, wait_all_sent, wait_pulled
from tests.support import gatt_vectors
from tests.support.ble_emulation import Adapter, deliver
from tests.support.browser import CHROMIUM_ARGS
from tests.support.tiers import chromium_path

BANGKOK = ZoneInfo("Asia/Bangkok")
CUFF = "0A:1B:2C:3D:4E:5F"
METER = "0A:1B:2C:3D:4E:60"
OXIMETER = "0A:1B:2C:3D:4E:61"
BP_SERVICE, BP_MEASUREMENT = 0x1810, 0x2A35
GLUCOSE_SERVICE, GLUCOSE_MEASUREMENT, RACP = 0x1808, 0x2A18, 0x2A52
PLX_SERVICE, PLX_SPOT_CHECK = 0x1822, 0x2A5E
VECTORS = {v["name"]: v for v in gatt_vectors.load()}


@pytest.fixture(scope="module")
def ble_browser() -> Iterator[Browser]:
    """Chromium with Web Bluetooth switched on (on Linux it is behind a feature flag)."""
    app_built()
    args = [*CHROMIUM_ARGS, "--enable-features=WebBluetooth"]
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=chromium_path(), args=args)
        try:
            yield browser
        finally:
            browser.close()


@pytest.fixture
def ble_context(ble_browser: Browser) -> Iterator[BrowserContext]:
    ctx = ble_browser.new_context(
        viewport={"width": 800, "height": 1280}, bypass_csp=True, timezone_id="Asia/Bangkok"
    )
    yield ctx
    ctx.close()


@pytest.fixture
def adapter(ble_browser: Browser) -> Iterator[Adapter]:
    emulated = Adapter(ble_browser)
    yield emulated
    emulated.close()


def open_vitals(page: Page, base: str, team: Team) -> None:
    sign_in(page, base, team.cg.username)
    wait_pulled(page)
    page.click(f"a[href='#/elder/{team.elder.id}']")
    page.click("#start-visit")
    page.wait_for_selector(".visit-step[data-step='checklist']")
    page.click("#visit-next")
    page.wait_for_selector(".visit-step[data-step='vitals'] #ble-read")


def cuff_bytes(vector: str, measured: datetime) -> str:
    """A vector's bytes with its Date Time (bytes 7–13) set to when the cuff measured, so the
    cuff's clock agrees with the tablet's on any day the test runs."""
    data = bytearray(gatt_vectors.hex_bytes(VECTORS[vector]["hex"]))
    data[7:14] = encode_date_time(measured.astimezone(BANGKOK).replace(tzinfo=None))
    return data.hex()


def says(page: Page, state: str, key: str) -> None:
    """Until the reader's status line is in ``state`` and says the catalogue's Thai ``key``."""
    page.wait_for_function(
        """([state, text]) => { const s = document.querySelector('#ble-status');
            return s.dataset.state === state && s.textContent === text; }""",
        arg=[state, translate(key, "th")],
    )


def status(page: Page, state: str) -> str:
    page.wait_for_selector(f"#ble-status[data-state='{state}']")
    return page.inner_text("#ble-status")


def test_a_blood_pressure_reading_from_the_cuff_goes_into_the_visit(
    ble_context: BrowserContext, adapter: Adapter, live_url: str, team: Team, session: Session
) -> None:
    adapter.add_device(CUFF, "BP Cuff", {BP_SERVICE: {BP_MEASUREMENT: {"indicate": True}}})
    page = ble_context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(f"{e.name}: {e.message}"))
    open_vitals(page, live_url, team)
    adapter.watch_chooser(page)

    page.click("#ble-read")
    assert "BP Cuff" in status(page, "waiting")
    kinds = [(o.kind, o.uuid) for o in adapter.operations]
    assert kinds[:3] == [
        ("connection", None), ("discovery", None),
        ("subscribe-to-notifications", BP_MEASUREMENT),
    ]  # fmt: skip

    # The cuff indicates 182/112 with its clock and pulse 88: a crisis value, which the rule set
    # grades YELLOW (measure again, call 1669 with symptoms), shown as soon as it arrives.
    measured = (datetime.now(UTC) - timedelta(minutes=2)).replace(microsecond=0)
    sent = cuff_bytes("BP crisis with the cuff's clock and pulse", measured)
    deliver(page, BP_MEASUREMENT, sent)
    page.wait_for_selector("#vitals-triage[data-priority='YELLOW']")
    assert translate("triage.bp.crisis", "th")[:12] in page.inner_text("#vitals-triage")
    assert page.input_value("input[name=systolic]") == "182"
    assert page.input_value("input[name=diastolic]") == "112"
    assert page.input_value("input[name=pulse]") == "88"
    assert "BP Cuff" in status(page, "filled")
    # Typed entry stays: the other fields are still there to type into.
    page.fill("input[name=temperature]", "36.8")
    page.click("#save-vitals")
    page.wait_for_selector("#saved-vitals li.p-YELLOW")

    for step in ("barthel", "notes", "finish"):
        page.click("#visit-next")
        page.wait_for_selector(f".visit-step[data-step='{step}']")
    page.click("#finish-visit")
    page.wait_for_url(f"**/app/#/elder/{team.elder.id}")
    wait_all_sent(page)

    session.expire_all()
    observations = session.exec(
        select(Observation).where(col(Observation.elder_id) == team.elder.id)
    ).all()
    assert len(observations) == 1
    obs = observations[0]
    assert obs.visit_id is not None and obs.priority == "YELLOW"
    rows = session.exec(
        select(ObservationValue).where(col(ObservationValue.observation_id) == obs.id)
    ).all()
    values = {r.code: r.value for r in rows}
    assert values == {"systolic": 182, "diastolic": 112, "pulse": 88, "temperature": 36.8}
    observed = obs.observed_at if obs.observed_at.tzinfo else obs.observed_at.replace(tzinfo=UTC)
    assert observed == measured  # the cuff's own clock, not the time of saving
    assert obs.device_time is not None and obs.device_time.replace(tzinfo=UTC) == measured
    assert not obs.device_clock_suspect
    assert obs.raw_hex == sent  # the bytes the cuff sent, kept as the hub keeps them
    assert errors == []


# The app's wording for a failed read; nothing reaches the server.
@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_the_app_says_plainly_what_went_wrong_and_typing_stays(
    ble_context: BrowserContext, adapter: Adapter, live_url: str, team: Team
) -> None:
    adapter.add_device(CUFF, "BP Cuff", {BP_SERVICE: {BP_MEASUREMENT: {"indicate": True}}})
    page = ble_context.new_page()
    open_vitals(page, live_url, team)
    adapter.watch_chooser(page)

    # Nothing chosen in the chooser.
    adapter.answer = "cancel"
    page.click("#ble-read")
    says(page, "error", "bluetooth.cancelled")

    adapter.answer = "select"

    # Malformed bytes from the cuff (a shared vector that both parsers refuse): nothing filled.
    page.click("#ble-read")
    status(page, "waiting")
    deliver(page, BP_MEASUREMENT, VECTORS["BP pulse flagged but cut"]["hex"])
    says(page, "error", "bluetooth.bad_data")
    assert page.input_value("input[name=systolic]") == ""

    # The link drops before a reading arrives. (Last: after an emulated drop the chooser no
    # longer lists the device, as a real cuff that went out of range.)
    page.click("#ble-read")
    status(page, "waiting")
    adapter.drop(CUFF)
    says(page, "error", "bluetooth.disconnected")

    page.fill("input[name=systolic]", "128")
    page.fill("input[name=diastolic]", "82")
    page.wait_for_selector("#vitals-triage[data-priority]")


def test_glucose_meter_records_newer_than_the_last_through_racp(
    ble_context: BrowserContext, adapter: Adapter, live_url: str, team: Team
) -> None:
    adapter.add_device(METER, "Glucose Meter", {
        GLUCOSE_SERVICE: {
            GLUCOSE_MEASUREMENT: {"notify": True},
            RACP: {"write": True, "indicate": True},
        },
    })  # fmt: skip
    page = ble_context.new_page()
    open_vitals(page, live_url, team)
    adapter.watch_chooser(page)

    def racp_writes() -> list[bytes]:
        return [o.data or b"" for o in adapter.operations if o.kind == "write" and o.uuid == RACP]

    page.click("#ble-read")
    page.wait_for_function("document.querySelector('#ble-status').dataset.state === 'waiting'")
    kinds = [(o.kind, o.uuid) for o in adapter.operations]
    subscribed = [u for k, u in kinds if k == "subscribe-to-notifications"]
    assert subscribed == [GLUCOSE_MEASUREMENT, RACP]  # both before the write
    assert kinds.index(("write", RACP)) > kinds.index(("subscribe-to-notifications", RACP))
    assert racp_writes() == [bytes([0x01, 0x01])]  # first time: all stored records

    deliver(page, GLUCOSE_MEASUREMENT, VECTORS["Glucose 95 mg/dL (kg/L)"]["hex"])
    deliver(page, RACP, VECTORS["RACP success"]["hex"])
    status(page, "filled")
    assert page.input_value("input[name=glucose]") == "95"

    # Next time, only the records after sequence number 1: 01 03 01 02 00.
    page.click("#ble-read")
    page.wait_for_function("document.querySelector('#ble-status').dataset.state === 'waiting'")
    assert racp_writes()[-1] == bytes([0x01, 0x03, 0x01, 0x02, 0x00])
    deliver(page, RACP, VECTORS["RACP no records found"]["hex"])
    says(page, "filled", "bluetooth.no_new_records")


def test_a_red_reading_from_the_oximeter_offline_shows_the_banner_at_once(
    ble_context: BrowserContext, adapter: Adapter, live_url: str, team: Team
) -> None:
    adapter.add_device(OXIMETER, "Oximeter", {PLX_SERVICE: {PLX_SPOT_CHECK: {"indicate": True}}})
    page = ble_context.new_page()
    open_vitals(page, live_url, team)
    ble_context.set_offline(True)  # no signal in the elder's home; the radio still works
    adapter.watch_chooser(page)
    page.click("#ble-read")
    status(page, "waiting")
    assert ("subscribe-to-notifications", PLX_SPOT_CHECK) in [
        (o.kind, o.uuid) for o in adapter.operations
    ]
    deliver(page, PLX_SPOT_CHECK, VECTORS["PLX spot-check low SpO2"]["hex"])  # 85 %, pulse 110
    page.wait_for_selector("#vitals-triage[data-priority='RED']")
    assert page.input_value("input[name=spo2]") == "85"
    assert page.input_value("input[name=pulse]") == "110"
    # No clock in this reading: it is saved with the time of saving.
    assert status(page, "filled") == translate("bluetooth.filled", "th", device="Oximeter")
    page.click("#save-vitals")
    page.wait_for_selector("#red-banner")
    assert "1669" in page.inner_text("#red-banner")
