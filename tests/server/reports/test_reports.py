"""Each report figure on known data, on SQLite and PostgreSQL; downloads and the public PDF."""

from __future__ import annotations

import csv
import io
from collections.abc import Callable
from datetime import date

import pytest
from fastapi.testclient import TestClient
from openpyxl import load_workbook
from pypdf import PdfReader
from sqlmodel import Session, select

from server.audit.models import AuditEntry
from server.auth.models import Role, User
from server.common.time import BANGKOK, utcnow
from server.reports import service
from server.reports.export import neutralise
from tests.server.reports.seed import COMMUNITY_A, COMMUNITY_B, NOW, seed

OCTOBER = service.Scope(month=date(2026, 10, 1))


@pytest.fixture
def seeded(session: Session, users: dict[Role, User]) -> object:
    return seed(session, users[Role.CAREGIVER])


def milestone(report: service.ResponseReport, key: str) -> service.Milestone:
    return next(m for m in report.overall if m.key == key)


def test_response_times(session: Session, seeded: object) -> None:
    report = service.response_report(session, scope=OCTOBER)
    # Six panics in A and the fall in B (01:00 on 1 October in Bangkok); tests and the
    # false alarm are counted apart.
    assert report.alerts == 7
    assert (report.false_alarms, report.test_presses) == (1, 2)
    assert report.false_alarm_rate == pytest.approx(1 / 8)
    assert report.test_press_rate == pytest.approx(2 / 10)
    ack = milestone(report, "acknowledged")
    assert ack.count == 7
    assert ack.median_s == 50  # 20 30 40 50 70 90 100
    assert ack.p90_s == 100  # nearest rank: the 7th of 7
    assert ack.within_target == pytest.approx(4 / 7)
    scene = milestone(report, "on_scene")
    assert scene.count == 5  # 300 400 500 700 900
    assert scene.median_s == 500
    assert scene.within_target == pytest.approx(3 / 5)
    assert milestone(report, "dispatched").count == 6
    by_group = {(r.community, r.kind, r.priority): r for r in report.rows}
    assert by_group[(COMMUNITY_A, "panic", "RED")].alerts == 6
    assert by_group[(COMMUNITY_B, "fall", "RED")].alerts == 1
    assert by_group[(COMMUNITY_A, "hub_offline", "WHITE")].alerts == 1  # apart from the above
    trend = {p.month: p for p in report.trend}
    assert len(report.trend) == 12
    assert trend["2026-09"].alerts == 1 and trend["2026-09"].ack_median_s == 200
    assert trend["2026-10"].alerts == 7
    assert "2026-11" not in trend
    assert sorted(report.ack_seconds) == [20, 30, 40, 50, 70, 90, 100]


def test_response_times_filtered_by_community(session: Session, seeded: object) -> None:
    report = service.response_report(
        session, scope=service.Scope(month=date(2026, 10, 1), community=COMMUNITY_B)
    )
    assert report.alerts == 1 and report.false_alarms == 0 and report.test_presses == 0
    assert milestone(report, "acknowledged").median_s == 100


def test_care(session: Session, seeded: object, users: dict[Role, User]) -> None:
    report = service.care_report(session, scope=OCTOBER, now=NOW)
    assert (report.visits_due, report.visits_done, report.visits_overdue) == (4, 3, 1)
    [row] = report.visits
    assert row.caregiver == users[Role.CAREGIVER].full_name and row.community == COMMUNITY_A
    # The red BP set is counted once, as blood pressure (not again for its pulse).
    abnormal = {(a.measure, a.priority): a.readings for a in report.abnormal}
    assert abnormal == {("systolic", "RED"): 1, ("spo2", "YELLOW"): 1}
    assert report.followed_up == 2
    assert report.follow_up_median_h == pytest.approx(4)
    consults = {c.urgency: c for c in report.consults}
    assert consults["urgent"].answered == 1 and consults["urgent"].median_h == pytest.approx(1)
    assert consults["routine"].requested == 1 and consults["routine"].answered == 0
    assert report.adl_changes == {"social->home": 1}
    assert report.adl_assessed == 1


def test_programme(session: Session, seeded: object) -> None:
    report = service.programme_report(session, scope=OCTOBER, now=NOW)
    assert report.registered == 7 and report.enrolled == 7
    assert report.registered_in_month == 1
    # Elders with a real alert or a completed visit in October: the six in A and the one in B.
    assert report.served == 7
    assert report.hubs_installed == 2
    assert (report.hubs_online, report.hubs_offline_24h) == (1, 1)
    assert report.devices_installed == {"hub": 2, "panic_button": 1}


def test_satisfaction(session: Session, seeded: object) -> None:
    report = service.satisfaction_report(session, scope=OCTOBER)
    [alert_point] = [p for p in report.for_month("2026-10") if p.context == "alert"]
    assert alert_point.answers == 2
    assert alert_point.mean == pytest.approx(4)
    assert alert_point.satisfied == pytest.approx(0.5)


def test_survey_api(
    client: TestClient,
    session: Session,
    seeded: object,
    users: dict[Role, User],
    auth: Callable[[User], dict[str, str]],
) -> None:
    alerts = seeded.alerts  # type: ignore[attr-defined]
    body = {"context": "alert", "subject_id": str(alerts["a2"].id), "overall": 4}
    done = client.post("/api/v1/reports/surveys", json=body, headers=auth(users[Role.DISPATCHER]))
    assert done.status_code == 201, done.text
    again = client.post("/api/v1/reports/surveys", json=body, headers=auth(users[Role.SUPERVISOR]))
    assert again.status_code == 409 and again.json()["detail"]["code"] == "already_answered"
    caregiver = client.post("/api/v1/reports/surveys", json={**body, "subject_id": str(alerts["a3"].id)},
                            headers=auth(users[Role.CAREGIVER]))  # fmt: skip
    assert caregiver.status_code == 403
    bad = client.post("/api/v1/reports/surveys", json={**body, "overall": 6},
                      headers=auth(users[Role.DISPATCHER]))  # fmt: skip
    assert bad.status_code == 422


def test_csv_and_xlsx_keep_formulas_as_text(
    client: TestClient, seeded: object, users: dict[Role, User],
    auth: Callable[[User], dict[str, str]], session: Session,
) -> None:  # fmt: skip
    headers = auth(users[Role.SUPERVISOR])
    got = client.get("/api/v1/reports/export.csv?month=2026-10&report=response", headers=headers)
    assert got.status_code == 200
    rows = list(csv.reader(io.StringIO(got.content.decode("utf-8-sig"))))
    cells = [c for row in rows for c in row]
    assert "'" + COMMUNITY_B in cells and COMMUNITY_B not in cells
    assert not any(c.startswith(("=", "+", "@")) for c in cells)
    got = client.get("/api/v1/reports/export.xlsx?month=2026-10", headers=headers)
    assert got.status_code == 200
    book = load_workbook(io.BytesIO(got.content))
    values = [c.value for sheet in book for row in sheet.iter_rows() for c in row]
    assert "'" + COMMUNITY_B in values
    assert not any(isinstance(v, str) and v.startswith(("=", "+", "@", "-")) for v in values)
    assert {"response_rows", "care_visits", "programme_summary", "satisfaction"} <= set(
        book.sheetnames
    )
    exports = session.exec(select(AuditEntry).where(AuditEntry.action == "export")).all()
    assert {e.detail["format"] for e in exports} == {"csv", "xlsx"}


def test_neutralise() -> None:
    for bad in ("=1+1", "+1", "-1", "@SUM(A1)", "\t=1", "\r=1"):
        assert neutralise(bad) == "'" + bad
    assert neutralise("ชุมชน") == "ชุมชน" and neutralise(-1) == -1


def test_monthly_pdf_is_public_safe(
    client: TestClient, seeded: object, users: dict[Role, User],
    auth: Callable[[User], dict[str, str]],
) -> None:  # fmt: skip
    got = client.get("/api/v1/reports/monthly.pdf?month=2026-10", headers=auth(users[Role.ADMIN]))
    assert got.status_code == 200 and got.content.startswith(b"%PDF")
    reader = PdfReader(io.BytesIO(got.content))
    text = "\n".join(page.extract_text() for page in reader.pages)
    assert "2569" in text  # October 2026 in the Buddhist Era
    assert "<5" in text  # the fall in community B, and others, suppressed
    assert "ลับเฉพาะ" not in text  # no elder's name
    assert users[Role.CAREGIVER].full_name not in text  # nor a staff member's
    assert any(page.images for page in reader.pages)  # the plots


def test_reports_need_a_supervisor(
    client: TestClient, users: dict[Role, User], auth: Callable[[User], dict[str, str]]
) -> None:
    assert (
        client.get("/api/v1/reports/care", headers=auth(users[Role.CAREGIVER])).status_code == 403
    )
    page = client.get("/reports", headers={**auth(users[Role.SUPERVISOR]), "accept": "text/html"})
    assert page.status_code == 200 and "<svg" in page.text


def test_survey_link_answered_once_by_the_family(
    client: TestClient,
    session: Session,
    seeded: object,
    users: dict[Role, User],
    auth: Callable[[User], dict[str, str]],
) -> None:
    alerts = seeded.alerts  # type: ignore[attr-defined]
    made = client.post(
        "/api/v1/reports/surveys/links",
        json={"context": "alert", "subject_id": str(alerts["a4"].id)},
        headers=auth(users[Role.DISPATCHER]),
    )
    assert made.status_code == 201, made.text
    path = made.json()["url"].split("://", 1)[1].split("/", 1)[1]
    page = client.get(f"/{path}")
    assert page.status_code == 200 and 'name="overall"' in page.text
    answered = client.post(f"/{path}", data={"overall": "5", "comment": "มาเร็วมาก"})
    assert answered.status_code == 200 and 'id="survey-thanks"' in answered.text
    again = client.post(f"/{path}", data={"overall": "1"})
    assert again.status_code == 409
    forged = client.get(f"/{path[:-3]}xyz")
    assert forged.status_code == 404
    # Answered today: counted in this month's figures (seeded October's stay as they were).
    this_month = utcnow().astimezone(BANGKOK).date().replace(day=1)
    report = service.satisfaction_report(session, scope=service.Scope(month=this_month))
    [link] = [p for p in report.for_month(report.month) if p.context == "alert"]
    assert link.answers == 1 and link.mean == 5
