"""Thai readers get Thai: every Thai text, message and rendered page is scanned for Latin-script
words outside an allow-list of standards, abbreviations Thai staff use, and key names."""

from __future__ import annotations

import re
import uuid
from typing import Any

import pytest
from sqlmodel import Session

import triage
from server.alerts.models import Alert, AlertKind
from server.alerts.policy import DEFAULT_POLICY
from server.alerts.timers import _supervisor_params
from server.auth.models import Role, User
from server.i18n import catalogue, translate
from tests.server.conftest import TEST_PASSWORD
from tests.server.eligibility.conftest import make_round, rubric  # noqa: F401
from tests.support.alerts import raise_panic_alert as panic
from tests.support.alerts import raise_vitals_alert as abnormal_vitals
from tests.support.browser import login
from tests.support.records import make_elder

ALLOWED = frozenset(
    {
        # Standards and scores, named as clinicians and officials name them.
        "NEWS2", "SpO2", "ADL", "Barthel", "AHA/ACC", "SHA-256",
        # Abbreviations of roles the glossary keeps: caregiver (CG), care manager (CM).
        "CG", "CM",
        # File formats and the keys of a keyboard.
        "PDF", "CSV", "JPEG", "PNG", "Enter", "Shift", "Esc",
        # Package names an administrator must install, quoted as typed.
        "fontpkg-sarabun", "fonts-thai-tlwg",
        # The language switch names English in English.
        "English",
        # Channel and service names written in Latin script in Thai too.
        "SMS", "LINE", "Twilio",
        # FHIR resource types, named as the standard names them for the systems that import them.
        "FHIR", "Patient", "Observation", "Encounter", "Flag",
    }
)  # fmt: skip
# A word: letters, digits and joiners, with at least two letters (single letters are key
# names such as "A"; digit-led hex like an alert number's "3fa2b1c9" is not a word).
WORD = re.compile(r"(?<![0-9A-Za-z_])[A-Za-z][A-Za-z0-9]*(?:[-/_][A-Za-z0-9]+)*")


# An alert's short number ("c24b0610") is hex: a number, not a word.
HEX_NUMBER = re.compile(r"(?=[0-9a-f]*[0-9])[0-9a-f]{6,}")


def latin_words(text: str, data: frozenset[str] = frozenset()) -> list[str]:
    """Latin words in `text`; `data` are values people typed (user names), not wording."""
    text = re.sub(r"\{base\}/[\w/-]*", "", text)  # a link's path is followed, not read
    text = re.sub(r"\{[^}]*\}", "", text)  # placeholders are filled in, not read
    return [
        word
        for word in WORD.findall(text)
        if sum(c.isalpha() for c in word) >= 2
        and word not in ALLOWED | data
        and not HEX_NUMBER.fullmatch(word)
    ]


def test_the_scan_finds_what_the_review_found() -> None:
    assert latin_words("เหตุRED ของ นาง ก ภายใน 600 วินาที") == ["RED"]
    assert latin_words("120 mm[Hg] · 80 /min · 36.5 Cel") == ["mm", "Hg", "min", "Cel"]
    assert latin_words("แผนการดูแล (Care Plan)") == ["Care", "Plan"]
    assert latin_words("คะแนน NEWS2 3 · ADL 12 · ปุ่ม A · เลขที่ 3fa2b1c9 · c24b0610") == []


def test_every_thai_catalogue_text_is_thai() -> None:
    found = {key: latin_words(text) for key, text in catalogue("th").items()}
    assert {k: v for k, v in found.items() if v} == {}


def test_supervisor_sms_says_colour_step_and_time_in_words() -> None:
    alert = Alert(id=uuid.uuid4(), elder_id=uuid.uuid4(), kind=AlertKind.PANIC,
                  priority=triage.Priority.RED)  # fmt: skip
    for step in DEFAULT_POLICY.steps:
        template = step.name if step.name in ("escalate", "sla_breach") else "generic"
        params = _supervisor_params(name="นางนงเยาว์ ใจดี", alert=alert, step=step, locale="th")
        text = translate(f"notify.supervisor.{template}", "th", **params)
        assert latin_words(text) == [], text
        assert "สีแดง (วิกฤต)" in text and "RED" not in text, text
        assert "วินาที" not in text and str(step.after_seconds) not in text.split(), text
    escalate = DEFAULT_POLICY.step("escalate")
    assert escalate is not None
    params = _supervisor_params(name="นางนงเยาว์", alert=alert, step=escalate, locale="th")
    assert translate("notify.supervisor.escalate", "th", **params).startswith(
        "ยกระดับเหตุ: เหตุสีแดง (วิกฤต) ของ นางนงเยาว์ ยังไม่มีผู้รับเรื่องเกิน 1 นาที"
    )


def _page_text(page: Any) -> str:
    text: str = page.evaluate(
        """() => document.body.innerText + "\\n" + [...document.querySelectorAll(
            '[placeholder],[title],[aria-label]')].map(n => [n.placeholder, n.title,
            n.getAttribute('aria-label')].filter(Boolean).join(' ')).join('\\n')"""
    )
    return text


@pytest.mark.browser
@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_every_thai_page_reads_in_thai(
    browser: Any,
    live_url: str,
    session: Session,
    users: dict[Role, User],
    make_round: Any,  # noqa: F811
) -> None:
    from server.alerts.service import raise_alert

    # People's own names are data, not wording: give the test users Thai names.
    for user in users.values():
        user.full_name = "สมหญิง รักษ์ดี"
        session.add(user)
    session.commit()
    elder = make_elder(session, title="นาง", allergies="แพ้ยาเพนิซิลลิน", medications="ยาลดความดัน")
    quiet = make_elder(session, access_notes=None, medications=None, allergies=None)
    panic(session, quiet.id)
    abnormal_vitals(session, elder.id, {"systolic": 189, "diastolic": 109, "pulse": 135,
                                        "spo2": 88, "temperature": 39.4})  # fmt: skip
    raise_alert(session, elder_id=quiet.id, kind=AlertKind.HUB_OFFLINE,
                priority=triage.Priority.WHITE, reasons=[])  # fmt: skip
    session.commit()
    round_ = make_round(devices=2, code="T1")

    pages = {
        Role.ADMIN: ["/", "/elders", f"/elders/{elder.id}", f"/elders/{quiet.id}",
                     "/admin/users", "/admin/devices", "/committee",
                     f"/committee/rounds/{round_.id}"],
        Role.DISPATCHER: ["/console"],
    }  # fmt: skip
    usernames = frozenset(u.username for u in users.values())
    problems: dict[str, list[str]] = {}
    browser_page = browser.new_page(locale="th-TH")
    try:
        browser_page.goto(f"{live_url}/login")
        problems["/login"] = latin_words(_page_text(browser_page), usernames)
        for role, urls in pages.items():
            browser_page.context.clear_cookies()
            login(browser_page, live_url, users[role].username, TEST_PASSWORD)
            for url in urls:
                browser_page.goto(f"{live_url}{url}")
                if url == "/console":
                    browser_page.wait_for_selector("#card .timeline li", timeout=10_000)
                    # Read every alert's card, with its clinical detail open.
                    for row in browser_page.locator("li.alert").all():
                        row.click()
                        browser_page.wait_for_selector("#card .timeline li", timeout=10_000)
                        browser_page.evaluate(
                            "document.querySelectorAll('details').forEach(d => d.open = true)"
                        )
                        problems[f"/console card {row.get_attribute('data-id')}"] = latin_words(
                            _page_text(browser_page), usernames
                        )
                browser_page.evaluate(
                    "document.querySelectorAll('details').forEach(d => d.open = true)"
                )
                problems[url] = latin_words(_page_text(browser_page), usernames)
    finally:
        browser_page.close()
    found = {url: words for url, words in problems.items() if words}
    assert found == {}, found


@pytest.mark.browser
@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_the_elder_page_tells_not_recorded_from_none(
    browser: Any, live_url: str, session: Session, users: dict[Role, User]
) -> None:
    unknown = make_elder(session, access_notes=None, medications=None, allergies=None,
                         chronic_conditions=[], fall_risk=False, falls_past_year=1)  # fmt: skip
    allergic = make_elder(session, title="นาง", first_name="นงเยาว์", allergies="แพ้ยาเพนิซิลลิน")
    page = browser.new_page(locale="th-TH")
    try:
        login(page, live_url, "admin", TEST_PASSWORD)
        page.goto(f"{live_url}/elders/{unknown.id}")
        text = page.locator("main").inner_text() if page.locator("main").count() else ""
        text = text or page.inner_text("body")
        assert "ยังไม่ได้บันทึก" in text  # access notes, allergies, medicines: never a dash
        assert page.locator("#allergies").inner_text() == "ยังไม่ได้บันทึก"
        assert page.locator("#allergies .not-recorded").count() == 1
        # The fall row is two rows: the risk, and the count.
        assert page.locator("#fall-risk").inner_text() == "ไม่ใช่"
        assert page.locator("#falls-past-year").inner_text() == "1 ครั้ง"
        assert "ไม่ใช่ (" not in text

        page.goto(f"{live_url}/elders/{allergic.id}")
        assert page.locator("#elder-name").inner_text().startswith("นางนงเยาว์ ")
        allergy = page.locator("#allergies")
        assert allergy.inner_text() == "แพ้ยาเพนิซิลลิน"
        colour = allergy.evaluate("n => getComputedStyle(n).color")
        red, green, blue = (int(c) for c in re.findall(r"\d+", colour))
        assert red >= 180 and green <= 80 and blue <= 80, colour
    finally:
        page.close()
