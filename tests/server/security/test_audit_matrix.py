"""The audit matrix: every API route that returns an elder's health data writes an audit row
naming the elders it returned (one row per elder per request, not one per item).

A new GET route must be added here, either to AUDITED (with a request that shows an elder)
or to NOT_HEALTH_DATA (with the reason), or the completeness test fails.
"""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlmodel import Session, col, func, select

from server.audit.models import AuditEntry
from server.auth.models import Role, User
from server.care.models import Visit, VisitStatus
from server.common.time import utcnow
from server.elders.models import Consent, Elder
from server.eligibility import rounds, rubrics
from server.eligibility.models import Appeal, Application, InstallationTask, TaskKind
from server.eligibility.schemas import RoundCreate
from tests.server.eligibility.conftest import answers, person
from tests.support.alerts import raise_panic_alert
from tests.support.records import make_elder

WEBM = b"\x1a\x45\xdf\xa3" + bytes(range(256)) * 4

NOT_HEALTH_DATA = {
    "/api/v1/health": "no personal data",
    "/api/v1/auth/me": "the caller's own account",
    "/api/v1/careapp/session": "the caller's own account, for the care app",
    "/api/v1/users": "staff accounts",
    "/api/v1/audit": "the log itself (who read what), for administrators",
    "/api/v1/devices": "device inventory: kind, battery, last seen",
    "/api/v1/responders": "the emergency unit's teams",
    **{
        f"/api/v1/oncall/{path}": "staff rosters and escalation policies, no elder data"
        for path in (
            "now",
            "overrides",
            "policies",
            "policies/{priority}",
            "teams",
            "teams/{team_id}/members",
            "teams/{team_id}/shifts",
        )
    },
    "/api/v1/eligibility/rubrics": "scoring criteria",
    "/api/v1/eligibility/rubrics/{rubric_id}": "scoring criteria",
    "/api/v1/eligibility/rounds": "round dates and counts",
    "/api/v1/eligibility/rounds/{round_id}": "round dates and counts",
    "/api/v1/eligibility/rounds/{round_id}/announcement": "public, masked names, no health",
    **{
        f"/api/v1/reports/{path}": "aggregates by month, community and team; no elder named"
        for path in ("care", "programme", "response", "satisfaction", "export.{fmt}", "monthly.pdf")
    },
    "/fhir/$export": "answers a status URL only; the worker audits each page per elder as it "
    "writes it (tests/server/fhir)",
    "/fhir/$export-status/{job_id}": "counts and file addresses of the caller's own export",
    "/fhir/$export-file/{job_id}/{resource_type}.ndjson": "only the exporter fetches it, and "
    "every resource in it was audited per elder in that person's name when written",
    "/api/v1/eligibility/rounds/{round_id}/announcement.csv": "public, masked names, no health",
    "/api/v1/eligibility/rounds/{round_id}/announcement.pdf": "public, masked names, no health",
    "/api/v1/eligibility/applications/{application_id}/attachments": "file names and sizes; "
    "downloading one is audited",
}


@dataclass
class World:
    users: dict[Role, User]
    elder: Elder
    held_elder: Elder
    ids: dict[str, str] = field(default_factory=dict)


Case = tuple[str, str, Role, str, dict[str, Any] | None]  # method, url, role, elder, json

AUDITED: dict[str, Callable[[World], Case]] = {
    "/api/v1/elders": lambda w: ("GET", "/api/v1/elders", Role.CARE_MANAGER, "elder", None),
    "/api/v1/elders/{elder_id}": lambda w: (
        "GET",
        f"/api/v1/elders/{w.elder.id}",
        Role.CARE_MANAGER,
        "elder",
        None,
    ),
    "/api/v1/elders/{elder_id}/observations": lambda w: (
        "GET",
        f"/api/v1/elders/{w.elder.id}/observations",
        Role.CLINICIAN,
        "elder",
        None,
    ),
    "/api/v1/elders/{elder_id}/checkins": lambda w: (
        "GET",
        f"/api/v1/elders/{w.elder.id}/checkins",
        Role.CARE_MANAGER,
        "elder",
        None,
    ),
    "/api/v1/alerts": lambda w: ("GET", "/api/v1/alerts", Role.DISPATCHER, "elder", None),
    "/api/v1/alerts/{alert_id}": lambda w: (
        "GET",
        f"/api/v1/alerts/{w.ids['alert']}",
        Role.DISPATCHER,
        "elder",
        None,
    ),
    "/api/v1/care-plans": lambda w: ("GET", "/api/v1/care-plans", Role.CARE_MANAGER, "elder", None),
    "/api/v1/care-plans/{plan_id}": lambda w: (
        "GET",
        f"/api/v1/care-plans/{w.ids['plan']}",
        Role.CAREGIVER,
        "elder",
        None,
    ),
    "/api/v1/visits": lambda w: ("GET", "/api/v1/visits", Role.CAREGIVER, "elder", None),
    "/api/v1/visits/today": lambda w: (
        "GET",
        "/api/v1/visits/today",
        Role.CAREGIVER,
        "elder",
        None,
    ),
    "/api/v1/visits/overdue": lambda w: (
        "GET",
        "/api/v1/visits/overdue",
        Role.CARE_MANAGER,
        "elder",
        None,
    ),
    "/api/v1/visits/{visit_id}": lambda w: (
        "GET",
        f"/api/v1/visits/{w.ids['visit']}",
        Role.CAREGIVER,
        "elder",
        None,
    ),
    "/api/v1/visits/{visit_id}/voice-notes/{note_id}": lambda w: (
        "GET",
        f"/api/v1/visits/{w.ids['visit']}/voice-notes/{w.ids['voice']}",
        Role.CARE_MANAGER,
        "elder",
        None,
    ),
    "/api/v1/consults": lambda w: ("GET", "/api/v1/consults", Role.CLINICIAN, "elder", None),
    "/api/v1/consults/{consult_id}": lambda w: (
        "GET",
        f"/api/v1/consults/{w.ids['consult']}",
        Role.CLINICIAN,
        "elder",
        None,
    ),
    "/api/v1/consults/{consult_id}/voice-notes/{note_id}": lambda w: (
        "GET",
        f"/api/v1/consults/{w.ids['consult']}/voice-notes/{w.ids['consult_voice']}",
        Role.CLINICIAN,
        "elder",
        None,
    ),
    "/api/v1/reviews": lambda w: ("GET", "/api/v1/reviews", Role.CARE_MANAGER, "elder", None),
    **{
        f"/fhir/{kind}": lambda w, kind=kind: ("GET", f"/fhir/{kind}", Role.ADMIN, "elder", None)
        for kind in ("Patient", "Observation", "Encounter", "Flag")
    },
    "/api/v1/sync": lambda w: ("GET", "/api/v1/sync", Role.CAREGIVER, "elder", None),
    "/api/v1/eligibility/applications/{application_id}": lambda w: (
        "GET",
        f"/api/v1/eligibility/applications/{w.ids['application']}",
        Role.COMMITTEE,
        "elder",
        None,
    ),
    "/api/v1/eligibility/applications/{application_id}/scores": lambda w: (
        "GET",
        f"/api/v1/eligibility/applications/{w.ids['application']}/scores",
        Role.COMMITTEE,
        "elder",
        None,
    ),
    "/api/v1/eligibility/attachments/{attachment_id}": lambda w: (
        "GET",
        f"/api/v1/eligibility/attachments/{w.ids['attachment']}",
        Role.COMMITTEE,
        "elder",
        None,
    ),
    "/api/v1/eligibility/installation-tasks": lambda w: (
        "GET",
        "/api/v1/eligibility/installation-tasks",
        Role.CARE_MANAGER,
        "elder",
        None,
    ),
    "/api/v1/eligibility/rounds/{round_id}/ranking": lambda w: (
        "GET",
        f"/api/v1/eligibility/rounds/{w.ids['round']}/ranking",
        Role.COMMITTEE,
        "elder",
        None,
    ),
    "/api/v1/eligibility/rounds/{round_id}/appeals": lambda w: (
        "GET",
        f"/api/v1/eligibility/rounds/{w.ids['round']}/appeals",
        Role.COMMITTEE,
        "elder",
        None,
    ),
    "/api/v1/eligibility/rounds/{round_id}/held-applications": lambda w: (
        "GET",
        f"/api/v1/eligibility/rounds/{w.ids['round']}/held-applications",
        Role.ADMIN,
        "held_elder",
        None,
    ),
}

# 409 replies that return the current record show it: audited the same way.
CONFLICTS: dict[str, Callable[[World], Case]] = {
    "elder": lambda w: ("PATCH", f"/api/v1/elders/{w.elder.id}", Role.CARE_MANAGER, "elder",
                        {"version": 99, "phone": "0812345678"}),
    "visit": lambda w: ("PATCH", f"/api/v1/visits/{w.ids['visit']}", Role.CAREGIVER, "elder",
                        {"version": 99, "notes": "x"}),
    "care_plan": lambda w: ("PATCH", f"/api/v1/care-plans/{w.ids['plan']}", Role.CARE_MANAGER,
                            "elder", {"version": 99, "goals": ["x"]}),
    "consult": lambda w: ("POST", f"/api/v1/consults/{w.ids['consult']}/answer", Role.CLINICIAN,
                          "elder", {"version": 99, "advice": "x"}),
}  # fmt: skip


def test_every_get_route_is_classified(app: FastAPI) -> None:
    gets = {p for p, item in app.openapi()["paths"].items() if "get" in item}
    unclassified = gets - set(AUDITED) - set(NOT_HEALTH_DATA)
    assert not unclassified, f"GET routes neither audited nor exempt: {sorted(unclassified)}"
    assert not set(AUDITED) & set(NOT_HEALTH_DATA)
    stale = (set(AUDITED) | set(NOT_HEALTH_DATA)) - gets
    assert not stale, f"entries for routes that do not exist: {sorted(stale)}"


@pytest.fixture
def world(
    client: TestClient, session: Session, users: dict[Role, User],
    auth: Callable[[User], dict[str, str]],
) -> World:  # fmt: skip
    cg, cm, vol = users[Role.CAREGIVER], users[Role.CARE_MANAGER], users[Role.VOLUNTEER]
    admin = users[Role.ADMIN]
    elder = make_elder(session, caregiver_id=cg.id, volunteer_id=vol.id, care_manager_id=cm.id)
    held_elder = make_elder(session, first_name="ซ่อน")
    w = World(users=users, elder=elder, held_elder=held_elder)

    def ok(reply: Any) -> dict[str, Any]:
        assert reply.status_code in (200, 201), reply.text
        return reply.json()  # type: ignore[no-any-return]

    plan = ok(client.post("/api/v1/care-plans", headers=auth(cm), json={
        "elder_id": str(elder.id), "goals": ["ความดัน"], "problems": ["ความดันสูง"],
        "frequencies": [{"role": "caregiver", "every_days": 7}],
        "measurements": ["systolic", "diastolic"], "checklist": ["ยา"]}))  # fmt: skip
    w.ids["plan"] = plan["id"]
    visit = session.exec(select(Visit).where(Visit.elder_id == elder.id)).first()
    assert visit is not None
    w.ids["visit"] = str(visit.id)
    ok(client.post(f"/api/v1/elders/{elder.id}/observations", headers=auth(cg), json={
        "id": str(uuid.uuid4()), "observed_at": datetime.now(UTC).isoformat(),
        "readings": [{"code": "glucose", "value": 260}]}))  # fmt: skip
    w.ids["voice"] = ok(client.post(
        f"/api/v1/visits/{visit.id}/voice-notes", params={"purpose": "report"}, content=WEBM,
        headers={**auth(cg), "content-type": "audio/webm"}))["id"]  # fmt: skip
    consult = ok(client.post("/api/v1/consults", headers=auth(cg),
                             json={"elder_id": str(elder.id), "question": "น้ำตาลสูง"}))  # fmt: skip
    w.ids["consult"] = consult["id"]
    w.ids["consult_voice"] = ok(client.post(
        f"/api/v1/consults/{consult['id']}/voice-notes", params={"purpose": "question"},
        content=WEBM, headers={**auth(cg), "content-type": "audio/webm"}))["id"]  # fmt: skip
    ok(client.post(f"/api/v1/elders/{elder.id}/checkins", headers=auth(vol),
                   json={"seen_well": False, "note": "ไม่สบาย"}))  # fmt: skip
    w.ids["alert"] = str(raise_panic_alert(session, elder.id).alert_id)
    # Consent to share with City Data, so the FHIR routes return this elder.
    session.add(Consent(elder_id=elder.id, given_on=utcnow().date(), scope=["city_data"]))
    done = utcnow() - timedelta(days=1)  # a completed visit: an Encounter to export
    session.add(Visit(elder_id=elder.id, status=VisitStatus.COMPLETED, started_at=done,
                      ended_at=done))  # fmt: skip

    rubric = rubrics.ensure_default_rubric(session)
    opens = utcnow() - timedelta(days=1)
    round_ = rounds.create_round(session, user=admin, data=RoundCreate(
        title="t", issuer="i", code="AM", rubric_id=rubric.id, devices=1, opens_at=opens,
        closes_at=opens + timedelta(days=30), chair_id=users[Role.COMMITTEE].id), request_id=None)  # fmt: skip
    rounds.open_round(session, user=admin, round_id=round_.id, request_id=None)
    session.commit()
    w.ids["round"] = str(round_.id)
    base = f"/api/v1/eligibility/rounds/{round_.id}"
    application = ok(client.post(f"{base}/applications", headers=auth(admin),
                                 json={"elder_id": str(elder.id), "answers": answers()}))  # fmt: skip
    w.ids["application"] = application["id"]
    ok(client.post(f"{base}/applications", headers=auth(vol), json={
        "person": person(9, national_id=held_elder.national_id), "answers": answers()}))  # fmt: skip
    w.ids["attachment"] = ok(client.post(
        f"/api/v1/eligibility/applications/{application['id']}/attachments", headers=auth(admin),
        files={"file": ("a.pdf", b"%PDF-1.4 x", "application/pdf")}))["id"]  # fmt: skip
    app_row = session.get(Application, uuid.UUID(application["id"]))
    assert app_row is not None
    # Appeals open after publication; the list is what is checked here, so one is written.
    session.add(Appeal(round_id=round_.id, application_id=app_row.id, reason="หกล้มเพิ่ม",
                       filed_by=admin.id))  # fmt: skip
    session.add(InstallationTask(elder_id=elder.id, round_id=round_.id,
                                 application_id=app_row.id, kind=TaskKind.INSTALL))  # fmt: skip
    # One visit overdue, so the overdue list has something to show.
    late = Visit(elder_id=elder.id, due_by=utcnow() - timedelta(days=2),
                 due_from=utcnow() - timedelta(days=9))  # fmt: skip
    session.add(late)
    session.commit()
    ok(client.post(f"{base}/close", headers=auth(admin)))
    ok(client.post(f"{base}/rank", headers=auth(admin), json={"seed": "audit"}))
    return w


def _reads(session: Session, actor: User, elder_id: uuid.UUID) -> int:
    return session.exec(
        select(func.count())
        .select_from(AuditEntry)
        .where(
            AuditEntry.actor_id == actor.id,
            AuditEntry.elder_id == elder_id,
            # An export to City Data is a read by the exporting administrator.
            col(AuditEntry.action).in_(["read", "export"]),
        )
    ).one()


def _check(client: TestClient, session: Session, auth: Callable[[User], dict[str, str]],
           w: World, case: Case) -> str | None:  # fmt: skip
    method, url, role, which, body = case
    actor = w.users[role]
    elder: Elder = getattr(w, which)
    before = _reads(session, actor, elder.id)
    reply = client.request(method, url, headers=auth(actor), json=body)
    if reply.status_code >= 400 and reply.status_code != 409:
        return f"{method} {url} as {role}: {reply.status_code} {reply.text[:150]}"
    # Where the reply names elders by id, it must name this one (the request really showed it).
    if '"elder_id"' in reply.text and str(elder.id) not in reply.text:
        return f"{method} {url} as {role}: the reply does not show the elder"
    session.expire_all()
    if _reads(session, actor, elder.id) <= before:
        return f"{method} {url} as {role}: no audit row for the elder it returned"
    return None


def test_every_health_data_route_writes_an_audit_row(
    client: TestClient, session: Session, auth: Callable[[User], dict[str, str]], world: World
) -> None:
    failures = [
        problem
        for make in AUDITED.values()
        if (problem := _check(client, session, auth, world, make(world)))
    ]
    assert not failures, "\n".join(failures)


def test_conflict_replies_with_the_current_record_are_audited(
    client: TestClient, session: Session, auth: Callable[[User], dict[str, str]], world: World
) -> None:
    failures = []
    for name, make in CONFLICTS.items():
        case = make(world)
        reply_check = _check(client, session, auth, world, case)
        if reply_check:
            failures.append(f"{name}: {reply_check}")
    assert not failures, "\n".join(failures)


def test_the_console_socket_audits_each_elder_once_per_snapshot(
    live_url: str, session: Session, users: dict[Role, User]
) -> None:
    import json
    import time

    from websockets.sync.client import connect

    from server.alerts.lifecycle import Action
    from server.alerts.service import transition
    from server.config import Settings
    from tests.server.conftest import TEST_SECRET
    from tests.support.records import token_for

    settings = Settings(env="test", database_url="sqlite://", secret_key=TEST_SECRET)
    dispatcher = users[Role.DISPATCHER]
    first, second = make_elder(session), make_elder(session, first_name="คนที่สอง")
    raised = raise_panic_alert(session, first.id)
    cookie = token_for(session, dispatcher, settings=settings, purpose="session")

    def console_rows(elder_id: uuid.UUID) -> int:
        session.expire_all()
        return session.exec(
            select(func.count())
            .select_from(AuditEntry)
            .where(
                AuditEntry.entity == "console",
                AuditEntry.elder_id == elder_id,
                AuditEntry.actor_id == dispatcher.id,
            )
        ).one()

    def wait_for(check: Callable[[], bool]) -> None:
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and not check():
            time.sleep(0.1)

    with connect(
        live_url.replace("http://", "ws://") + "/api/v1/console/ws",
        additional_headers={"Cookie": f"{settings.session_cookie}={cookie}"},
        open_timeout=10,  # type: ignore[arg-type]
    ) as ws:
        assert json.loads(ws.recv(timeout=10))["type"] == "snapshot"
        wait_for(lambda: console_rows(first.id) == 1)
        assert console_rows(first.id) == 1
        raise_panic_alert(session, second.id)  # a new elder reaches the console in a change
        wait_for(lambda: console_rows(second.id) == 1)
        assert console_rows(second.id) == 1
        # Further changes to an alert already shown on this connection add no rows.
        transition(session, alert_id=raised.alert_id, action=Action.ACKNOWLEDGE, actor=dispatcher)
        session.commit()
        deadline = time.monotonic() + 3
        while time.monotonic() < deadline:
            with contextlib.suppress(TimeoutError):
                ws.recv(timeout=0.5)
        assert console_rows(first.id) == 1 and console_rows(second.id) == 1
