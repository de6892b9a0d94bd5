"""The telehealth round trip in real Chromium (fake microphone): a caregiver asks offline
with a voice note; after sync the clinician's page plays it, answers with spoken advice; the
caregiver's app shows the answer and plays it, online and then offline. The clinician's
screens have no serious accessibility violation, in Thai and in English."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from playwright.sync_api import Browser, BrowserContext, Page
from sqlmodel import Session, col, select

from server.audit.models import AuditEntry
from server.auth.models import Role, User
from server.care.models import Consult, ConsultStatus, VoiceNote, VoicePurpose
from tests.server.careapp.conftest import Team, ready, sign_in, wait_all_sent, wait_pulled
from tests.server.careapp.test_app_browser import axe_serious

# Plays an audio element muted (allowed without a gesture) until its clock moves.
PLAYS = """async (sel) => {
  // The page may be redrawn (a pull, a send) while it loads or starts: play the element then shown.
  for (let attempt = 0; ; attempt++) {
    const t0 = Date.now();
    while (!document.querySelector(sel)?.getAttribute('src') && Date.now() - t0 < 10000)
      await new Promise(r => setTimeout(r, 50));
    const a = document.querySelector(sel);
    a.muted = true;
    try {
      await a.play();
    } catch (e) {
      if (e.name === 'AbortError' && attempt < 5) continue;
      throw e;
    }
    while (a.currentTime === 0 && a.isConnected && Date.now() - t0 < 10000)
      await new Promise(r => setTimeout(r, 50));
    // Redrawn before it played a frame: a removed element is paused; play the new one.
    if (!a.isConnected && attempt < 5) continue;
    return {time: a.currentTime, ready: a.readyState, error: a.error && a.error.code};
  }
}"""


def _playing_survives_a_pull(page: Page, audio: str) -> None:
    """A pull in the background does not redraw the screen under a voice note being played
    (a redraw replaces the element, and that stops it); the screen catches up at its end."""
    page.evaluate(
        """async (sel) => { const a = document.querySelector(sel);
             a.loop = true; a.muted = true; a.dataset.kept = '1'; await a.play(); }""",
        audio,
    )
    pulls = page.evaluate("performance.getEntriesByName('pull-end').length")
    page.click("#sync-now")
    page.wait_for_function(f"performance.getEntriesByName('pull-end').length > {pulls}")
    page.wait_for_timeout(500)  # the redraw that follows a pull
    after = page.evaluate(
        "(sel) => { const a = document.querySelector(sel); return [a.dataset.kept, a.paused]; }",
        audio,
    )
    assert after == ["1", False]
    page.evaluate("(sel) => { document.querySelector(sel).loop = false; }", audio)
    page.wait_for_function(
        "(sel) => { const a = document.querySelector(sel); return a && !a.dataset.kept; }",
        arg=audio,
        timeout=20_000,
    )


@pytest.fixture
def media_browser_context(media_browser: Browser) -> Iterator[BrowserContext]:
    """The clinician's own browser profile, beside the caregiver's tablet."""
    ctx = media_browser.new_context(viewport={"width": 1200, "height": 1000}, bypass_csp=True)
    yield ctx
    ctx.close()


@pytest.fixture
def client_consult(client: TestClient, team: Team) -> str:
    response = client.post(
        "/api/v1/consults",
        json={"elder_id": str(team.elder.id), "question": "Dizzy after the new tablets",
              "urgency": "soon"},
        headers=team.h(team.cg),
    )  # fmt: skip
    assert response.status_code == 201, response.text
    return str(response.json()["id"])


def _ask_offline_with_voice(page: Page, live_url: str, team: Team) -> None:
    sign_in(page, live_url, team.cg.username)
    wait_pulled(page)
    page.context.set_offline(True)
    page.reload()
    ready(page)
    page.wait_for_selector("#status[data-online='false']")
    page.click(f"a[href='#/elder/{team.elder.id}']")
    page.click("#start-visit")
    page.wait_for_selector(".visit-step[data-step='checklist']")
    page.click("#visit-next")
    page.wait_for_selector(".visit-step[data-step='vitals']")
    page.fill("input[name=systolic]", "168")
    page.fill("input[name=diastolic]", "96")
    page.fill("input[name=pulse]", "84")
    page.fill("input[name=spo2]", "97")
    page.click("#save-vitals")
    while not page.locator(".visit-step[data-step='notes']").count():
        page.click("#visit-next")
        page.wait_for_timeout(200)
    page.click("#voice-record")
    page.wait_for_timeout(1500)
    page.click("#voice-record")
    page.wait_for_selector("#voice audio")
    page.click("#visit-next")
    page.wait_for_selector(".visit-step[data-step='finish']")
    page.click("details summary")
    page.fill("#consult-question", "ความดันสูงทุกเช้า ควรปรับยาหรือไม่")
    page.click("#send-consult")
    page.click("#finish-visit")
    page.wait_for_url(f"**/app/#/elder/{team.elder.id}")
    page.context.set_offline(False)
    wait_all_sent(page, timeout=60_000)  # a voice note and a visit, on a busy machine


def test_offline_question_with_voice_answered_with_voice(
    context: BrowserContext,
    media_browser_context: BrowserContext,
    live_url: str,
    team: Team,
    users: dict[Role, User],
    session: Session,
) -> None:
    errors: list[str] = []
    cg_page = context.new_page()
    cg_page.on("pageerror", lambda e: errors.append(f"caregiver: {e.message}"))
    _ask_offline_with_voice(cg_page, live_url, team)
    session.expire_all()
    consult = session.exec(select(Consult).where(Consult.elder_id == team.elder.id)).one()
    assert consult.visit_id is not None and consult.observation_ids
    spoken = session.exec(select(VoiceNote).where(VoiceNote.visit_id == consult.visit_id)).one()
    assert spoken.stored

    clinician = users[Role.CLINICIAN]
    page = media_browser_context.new_page()
    page.on("pageerror", lambda e: errors.append(f"clinician: {e.message}"))
    sign_in(page, live_url, clinician.username)
    row = page.wait_for_selector(f"#consult-queue li[data-consult='{consult.id}']")
    assert "ความดันสูงทุกเช้า" in row.inner_text()
    assert axe_serious(page) == []
    page.click(f"li[data-consult='{consult.id}'] a.button")
    page.wait_for_selector("#consult[data-ready='1']", timeout=20_000)
    # Opening it took the question into review; the caregiver's app shows so after a pull.
    assert page.get_attribute("#consult-head", "data-status") == "in_review"
    cg_page.click("#sync-now")
    cg_page.wait_for_selector(
        f"#consult-answers li[data-consult='{consult.id}'][data-status='in_review']",
        timeout=20_000,
    )
    assert page.locator("#consult-readings li[data-attached='1']").count() == 1
    assert page.locator("#consult-charts .chart[data-chart='bp'] canvas").count() == 1
    heard = page.evaluate(PLAYS, f"#consult-voice li[data-note='{spoken.id}'] audio")
    assert heard["error"] is None and heard["time"] > 0 and heard["ready"] >= 2, heard
    assert axe_serious(page) == []

    page.fill("#answer-advice", "ให้วัดความดันเช้าเย็นต่ออีกหนึ่งสัปดาห์ แล้วส่งผลมา")
    page.click("#advice-record")
    page.wait_for_timeout(1500)
    page.click("#advice-record")
    page.wait_for_selector("#advice-preview")
    page.click("#answer-send")
    page.wait_for_selector("#consult-head[data-status='answered']", timeout=20_000)
    session.expire_all()
    answered = session.get(Consult, consult.id)
    assert answered is not None and answered.status == ConsultStatus.ANSWERED
    advice = session.exec(
        select(VoiceNote).where(
            VoiceNote.consult_id == consult.id, VoiceNote.purpose == VoicePurpose.ADVICE
        )
    ).one()
    assert advice.stored and (advice.size or 0) > 0
    assert answered.outcome["advice_voice_note_ids"] == [str(advice.id)]
    reads = session.exec(
        select(AuditEntry).where(
            col(AuditEntry.actor_id) == clinician.id, AuditEntry.action == "read"
        )
    ).all()
    assert {"consult", "observations", "voice_note"} <= {r.entity for r in reads}
    assert {r.elder_id for r in reads} == {team.elder.id}

    # The caregiver's next pull brings the answer; the advice plays, and again offline.
    cg_page.click("#sync-now")
    cg_page.wait_for_selector(f"#consult-answers li[data-consult='{consult.id}'] .advice-text",
                              timeout=20_000)  # fmt: skip
    audio = f"#consult-answers li[data-consult='{consult.id}'] .advice-voice audio"
    heard = cg_page.evaluate(PLAYS, audio)
    assert heard["error"] is None and heard["time"] > 0, heard
    assert axe_serious(cg_page) == []
    _playing_survives_a_pull(cg_page, audio)
    cg_page.wait_for_function(
        "async () => (await (await caches.open('eldercare-voice')).keys()).length === 1"
    )
    context.set_offline(True)
    cg_page.reload()
    ready(cg_page)
    cg_page.wait_for_selector(f"{audio}[src^='blob:']")
    assert "สัปดาห์" in cg_page.inner_text("#consult-answers")
    heard = cg_page.evaluate(PLAYS, audio)
    assert heard["error"] is None and heard["time"] > 0, heard
    assert errors == []


# What the screens look like, not what is stored: one database is enough.
@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_clinician_screens_in_english_have_no_serious_violation(
    media_browser_context: BrowserContext,
    live_url: str,
    team: Team,
    users: dict[Role, User],
    client_consult: str,
) -> None:
    page = media_browser_context.new_page()
    sign_in(page, live_url, users[Role.CLINICIAN].username)
    page.click("#lang")
    page.wait_for_selector("html[lang='en']")
    page.wait_for_selector("main >> text=Most urgent first")
    assert axe_serious(page) == []
    page.click(f"li[data-consult='{client_consult}'] a.button")
    page.wait_for_selector("#consult[data-ready='1']", timeout=20_000)
    assert "Send the answer" in page.inner_text("main")
    assert page.locator("#answer-targets input[name=systolic_max]").count() == 1
    assert axe_serious(page) == []


def test_clinician_screens_run_under_the_policy(
    media_browser: Browser,
    live_url: str,
    users: dict[Role, User],
    client_consult: str,
) -> None:
    from tests.server.conftest import TEST_PASSWORD
    from tests.server.test_csp_browser import WATCH_CSP

    ctx = media_browser.new_context(viewport={"width": 1200, "height": 1000})
    ctx.add_init_script(WATCH_CSP)
    try:
        page = ctx.new_page()
        messages: list[str] = []
        page.on("console", lambda m: messages.append(m.text))
        page.goto(f"{live_url}/login")
        page.fill("input[name=username]", users[Role.CLINICIAN].username)
        page.fill("input[name=password]", TEST_PASSWORD)
        page.click("button[type=submit]")
        page.wait_for_url(f"{live_url}/app/**")
        # Selectors only: Playwright's function predicates need eval, which the policy forbids.
        page.click(f"li[data-consult='{client_consult}'] a.button", timeout=20_000)
        try:
            page.wait_for_selector("#consult[data-ready='1']", timeout=40_000)
        except Exception as exc:  # say what the page showed instead
            shown = page.inner_text("#app")[:600]
            raise AssertionError(
                f"consult not ready; page: {shown!r}; console: {messages}"
            ) from exc
        page.click("#advice-record")
        page.wait_for_timeout(800)
        page.click("#advice-record")
        page.wait_for_selector("#advice-preview")
        page.wait_for_timeout(500)  # late style or script insertions would show now
        found: list[str] = page.evaluate("() => window.__csp")
        assert found + [m for m in messages if "Content Security Policy" in m] == []
    finally:
        ctx.close()
