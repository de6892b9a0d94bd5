"""Shared by the benchmarks: the machine line, throwaway databases, a server thread, and for
the care app's benches a Chromium page logged in to it."""

from __future__ import annotations

import os
import statistics
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date

from playwright.sync_api import BrowserContext, Page, sync_playwright
from sqlmodel import Session

from bench._server import machine_line
from server.careapp.router import DIST
from server.common import thai_id
from server.elders.models import Elder, EmergencyContact, Sex
from tests.support.browser import CHROMIUM_ARGS
from tests.support.databases import postgres_admin_url, scratch_database
from tests.support.live import serve as serve  # the one server thread, shared with the tests
from tests.support.tiers import chromium_path

PG_ADMIN = postgres_admin_url()


def pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    index = min(len(ordered) - 1, max(0, round(p / 100 * (len(ordered) - 1))))
    return ordered[index]


def summary(values: list[float], unit: str = "ms") -> str:
    return (
        f"n={len(values)} p50={pct(values, 50):.1f} {unit} p99={pct(values, 99):.1f} {unit} "
        f"max={max(values):.1f} {unit} mean={statistics.fmean(values):.1f} {unit}"
    )


@contextmanager
def database(kind: str) -> Iterator[str]:
    """An empty migrated database: a temp SQLite file, or a throwaway PostgreSQL database."""
    with scratch_database("sqlite" if kind == "sqlite" else "postgresql", prefix="bench") as url:
        yield url


def make_elders(session: Session, count: int) -> list[Elder]:
    elders: list[Elder] = []
    for n in range(count):
        elder = Elder(
            national_id=thai_id.with_check_digit(f"9{n:011d}"),
            first_name=f"ผู้สูงอายุ{n}",
            last_name="ทดสอบ",
            birth_date=date(1945, 1, 1),
            sex=Sex.FEMALE,
            address=f"{n} หมู่ 1",
            community="ชุมชนทดสอบ",
            lives_alone=True,
            has_carer=False,
        )
        session.add(elder)
        elders.append(elder)
        session.flush()
        session.add(
            EmergencyContact(elder_id=elder.id, name="ญาติ", relation="ลูก", phone="0800000000")
        )
    session.commit()
    return elders


def app_bench_start(name: str) -> None:
    """The care app's benches: refuse to measure an app that is not built; say where and when."""
    if not (DIST / "index.html").is_file():
        sys.exit("the app is not built: run `make app`")
    print(f"eldercare {name}")
    print(machine_line())
    print(f"load average at start: {load()}")


def load() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


@contextmanager
def logged_in_page(
    base: str, username: str, password: str, *, height: int = 800, bypass_csp: bool = True
) -> Iterator[tuple[BrowserContext, Page]]:
    """Real Chromium signed in to the care app at `base`, on the app's first screen: its
    context (to go offline, open more pages) and page. The browser is closed on the way out."""
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=chromium_path(), args=CHROMIUM_ARGS)
        try:
            # bypass_csp: the bench (not the app) evaluates strings in the page; past the CSP
            # for the harness only.
            ctx = browser.new_context(
                viewport={"width": 1280, "height": height}, bypass_csp=bypass_csp
            )
            page = ctx.new_page()
            page.goto(f"{base}/login")
            page.fill("input[name=username]", username)
            page.fill("input[name=password]", password)
            page.click("button[type=submit]")
            page.wait_for_url(f"{base}/app/**")
            yield ctx, page
        finally:
            browser.close()


def wait_for_pull(page: Page, timeout_ms: int) -> None:
    """Until the app's first pull of its data has ended (its `pull-end` mark)."""
    page.wait_for_function(
        "performance.getEntriesByName('pull-end').length > 0", timeout=timeout_ms
    )
