"""With more than one visit due for an elder, the caregiver chooses which one the visit logs
(or logs it outside the schedule); the chosen one is completed on the server, not the other."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from playwright.sync_api import BrowserContext
from sqlmodel import Session, col, select

from server.care.models import Visit, VisitReason, VisitStatus
from tests.server.careapp.conftest import Team, idb_dump, sign_in, wait_pulled


def test_the_caregiver_chooses_which_scheduled_visit_a_visit_logs(
    context: BrowserContext, live_url: str, team: Team, session: Session
) -> None:
    now = datetime.now(UTC)
    for visit in session.exec(select(Visit).where(col(Visit.elder_id) == team.elder.id)):
        session.delete(visit)
    plan = Visit(elder_id=team.elder.id, reason=VisitReason.PLAN, assigned_to=team.cg.id,
                 due_from=now - timedelta(days=3), due_by=now - timedelta(days=1))  # fmt: skip
    follow_up = Visit(elder_id=team.elder.id, reason=VisitReason.FOLLOW_UP,
                      assigned_to=team.cg.id, due_from=now, due_by=now + timedelta(days=2))  # fmt: skip
    session.add_all([plan, follow_up])
    session.commit()

    page = context.new_page()
    sign_in(page, live_url, team.cg.username)
    wait_pulled(page)
    page.click(f"a[href='#/elder/{team.elder.id}']")
    page.click("#start-visit")
    choices = page.locator("#visit-choice button")
    choices.first.wait_for()
    # Most urgent first (the overdue plan visit), then the follow-up, then "outside the schedule".
    assert choices.evaluate_all("els => els.map(e => e.dataset.visit)") == [
        str(plan.id), str(follow_up.id), "",
    ]  # fmt: skip
    page.click(f"#visit-choice button[data-visit='{follow_up.id}']")
    page.wait_for_url(f"**/app/#/visit/{follow_up.id}")
    page.wait_for_selector(".visit-step[data-step='checklist']")
    for step in ("vitals", "barthel", "notes", "finish"):
        page.click("#visit-next")
        page.wait_for_selector(f".visit-step[data-step='{step}']")
    page.click("#finish-visit")
    page.wait_for_url(f"**/app/#/elder/{team.elder.id}")
    for _ in range(150):  # the finish is queued as an edit of the chosen visit, then sent
        updates = [e for e in idb_dump(page, "outbox") if e["type"] == "visit_update"]
        if updates and updates[0]["state"] != "waiting":
            break
        page.wait_for_timeout(200)
    assert [(e["target_id"], e["state"]) for e in updates] == [(str(follow_up.id), "sent")]

    session.expire_all()
    done = session.get(Visit, follow_up.id)
    other = session.get(Visit, plan.id)
    assert done is not None and done.status == VisitStatus.COMPLETED
    # Not logged by this visit (the server's schedule may replace a plan visit once any visit
    # is completed, but it is never marked done by it).
    assert other is not None and other.status != VisitStatus.COMPLETED
    assert other.ended_at is None and other.performed_by is None
