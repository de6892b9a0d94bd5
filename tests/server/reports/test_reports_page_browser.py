"""The supervisor's reports page in real Chromium: filters, plots, tables, a download."""

from __future__ import annotations

import csv
from typing import Any

import pytest
from sqlmodel import Session

from server.auth.models import Role, User
from server.i18n import translate
from tests.server.conftest import TEST_PASSWORD
from tests.server.reports.seed import COMMUNITY_B, seed
from tests.support.browser import login

pytestmark = pytest.mark.browser


def test_supervisor_filters_the_month_and_community(
    browser: Any, live_url: str, session: Session, users: dict[Role, User]
) -> None:
    seed(session, users[Role.CAREGIVER])
    page = browser.new_page(locale="th-TH", accept_downloads=True)
    try:
        login(page, live_url, "supervisor", TEST_PASSWORD)
        page.goto(f"{live_url}/reports")
        assert page.locator("h1").inner_text() == "รายงานผลการดำเนินงาน"
        page.select_option("#filter-month", "2026-10")
        page.click("#report-filters button[type=submit]")
        page.wait_for_url("**/reports?month=2026-10*")
        # Every plot is drawn, with a size, in Thai.
        for plot in ("ack_distribution", "on_scene_distribution", "ack_trend", "visits"):
            box = page.locator(f"#plot-{plot} svg").bounding_box()
            assert box is not None and box["width"] > 200 and box["height"] > 80, plot
        assert "ต.ค. 69" in page.locator("#plot-ack_trend").inner_text()
        summary = page.locator("#table-response_summary").inner_text()
        assert "เหตุจริง" in summary and "7" in summary
        assert "ชุมชนบ้านเหมือง" in page.locator("#table-care_visits").inner_text()

        page.select_option("#filter-community", COMMUNITY_B)
        page.click("#report-filters button[type=submit]")
        page.wait_for_load_state("networkidle")
        rows = page.locator("#table-response_rows tbody tr")
        assert rows.count() == 1
        assert translate("alerts.kind.fall", "th") in rows.first.inner_text()

        with page.expect_download() as info:
            page.click("#download-csv")
        path = info.value.path()
        with open(path, encoding="utf-8-sig", newline="") as handle:
            cells = [c for row in csv.reader(handle) for c in row]
        assert "'" + COMMUNITY_B in cells
        assert info.value.suggested_filename == "eldercare-all-2026-10.csv"
    finally:
        page.close()
