"""Care plans, the schedule, the visit log, readings with follow-up, history, reviews."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

from fastapi.testclient import TestClient
from sqlmodel import Session, select

from server.alerts.models import Alert
from server.audit.models import AuditEntry
from server.care.models import ReviewItem, Visit
from server.elders.models import Elder
from server.observations.models import Observation, TriageOverrides
from tests.support.care_team import Team, plan_for
from tests.support.records import make_elder


def now_iso(delta: timedelta = timedelta()) -> str:
    return (datetime.now(UTC) + delta).isoformat()


def test_care_plan_schedules_visits_and_sets_targets(
    client: TestClient, session: Session, team: Team
) -> None:
    plan = plan_for(
        client, team, team.elder,
        targets={"bp_target": {"systolic_max": 150, "diastolic_max": 90}},
    )  # fmt: skip
    overrides = session.get(TriageOverrides, team.elder.id)
    assert overrides is not None
    assert overrides.overrides["bp_target"] == {"systolic_max": 150, "diastolic_max": 90}
    assert str(plan["id"]) in overrides.overrides["source"]

    today = client.get("/api/v1/visits/today", headers=team.h(team.cg)).json()
    assert [i["visit"]["elder_id"] for i in today] == [str(team.elder.id)]
    assert today[0]["measurements"] == ["systolic", "diastolic", "pulse", "spo2", "adl"]
    assert today[0]["adl_due"] is True
    clinician_today = client.get("/api/v1/visits/today", headers=team.h(team.clinician)).json()
    assert [i["visit"]["role"] for i in clinician_today] == ["clinician"]

    again = client.post(
        "/api/v1/care-plans", json={"elder_id": str(team.elder.id)}, headers=team.h(team.cm)
    )
    assert again.status_code == 409
    stale = client.patch(
        f"/api/v1/care-plans/{plan['id']}", json={"version": 9, "goals": ["x"]},
        headers=team.h(team.cm),
    )  # fmt: skip
    assert stale.status_code == 409
    assert stale.json()["detail"]["current"]["version"] == 1
    # Dropping the clinician frequency cancels its open visit.
    updated = client.patch(
        f"/api/v1/care-plans/{plan['id']}",
        json={"version": 1, "frequencies": [{"role": "caregiver", "every_days": 7}]},
        headers=team.h(team.cm),
    )
    assert updated.status_code == 200, updated.text
    assert client.get("/api/v1/visits/today", headers=team.h(team.clinician)).json() == []
    # A clinician may change the targets (and nothing else of the plan).
    targets = client.put(
        f"/api/v1/care-plans/{plan['id']}/targets",
        json={"version": 2, "targets": {"spo2_scale": 2}}, headers=team.h(team.clinician),
    )  # fmt: skip
    assert targets.status_code == 200, targets.text
    assert targets.json()["targets"]["spo2_scale"] == 2
    assert (
        client.patch(
            f"/api/v1/care-plans/{plan['id']}",
            json={"version": 3},
            headers=team.h(team.clinician),
        ).status_code
        == 403
    )


def test_visit_log_readings_follow_up_and_alert(
    client: TestClient, session: Session, team: Team
) -> None:
    plan_for(client, team, team.elder)
    visit = client.get("/api/v1/visits/today", headers=team.h(team.cg)).json()[0]["visit"]
    url = f"/api/v1/visits/{visit['id']}"
    started = client.patch(
        url, json={"version": visit["version"], "status": "in_progress",
                   "latitude": 13.2801, "longitude": 100.9201},
        headers=team.h(team.cg),
    )  # fmt: skip
    assert started.status_code == 200, started.text
    assert started.json()["started_at"] is not None
    assert 0 < started.json()["distance_m"] < 50

    normal = client.post(
        f"{url}/observations",
        json={"id": str(uuid.uuid4()), "observed_at": now_iso(), "readings": [
            {"code": "systolic", "value": 118}, {"code": "diastolic", "value": 76},
            {"code": "pulse", "value": 72}, {"code": "spo2", "value": 98}]},
        headers=team.h(team.cg),
    )  # fmt: skip
    assert normal.status_code == 201, normal.text
    assert normal.json()["follow_up"] is None

    high_id = str(uuid.uuid4())
    high = client.post(
        f"{url}/observations",
        json={"id": high_id, "observed_at": now_iso(), "readings": [
            {"code": "systolic", "value": 165}, {"code": "diastolic", "value": 100}]},
        headers=team.h(team.cg),
    )  # fmt: skip
    body = high.json()
    assert body["priority"] in ("YELLOW", "GREEN"), body
    assert body["follow_up"]["review_id"] and body["follow_up"]["visit_id"]
    follow_visit = session.get(Visit, uuid.UUID(body["follow_up"]["visit_id"]))
    assert follow_visit is not None and follow_visit.due_by is not None
    # A re-sent reading is stored once and raises nothing new.
    again = client.post(
        f"{url}/observations",
        json={"id": high_id, "observed_at": now_iso(), "readings": [
            {"code": "systolic", "value": 165}, {"code": "diastolic", "value": 100}]},
        headers=team.h(team.cg),
    )  # fmt: skip
    assert again.status_code == 201 and again.json()["created"] is False
    assert len(session.exec(select(ReviewItem)).all()) == 1

    red = client.post(
        f"{url}/observations",
        json={"id": str(uuid.uuid4()), "observed_at": now_iso(),
              "readings": [{"code": "spo2", "value": 84}]},
        headers=team.h(team.cg),
    )  # fmt: skip
    red_body = red.json()
    assert red_body["priority"] == "RED"
    assert red_body["follow_up"]["alert"] in ("raised", "joined")
    alert = session.get(Alert, uuid.UUID(red_body["follow_up"]["alert_id"]))
    assert alert is not None and alert.elder_id == team.elder.id
    kinds = {r.kind for r in session.exec(select(ReviewItem)).all()}
    assert kinds == {"abnormal_reading", "critical_reading"}

    bad = client.post(
        f"{url}/observations",
        json={"id": str(uuid.uuid4()), "observed_at": now_iso(),
              "readings": [{"code": "systolic", "value": 120, "unit": "kPa"}]},
        headers=team.h(team.cg),
    )  # fmt: skip
    assert bad.status_code == 422

    done = client.patch(
        url, json={"version": started.json()["version"], "status": "completed",
                   "adl_items": {"feeding": 2, "bathing": 0, "grooming": 1, "dressing": 1,
                                 "bowels": 2, "bladder": 2, "toilet_use": 1, "transfers": 2,
                                 "mobility": 2, "stairs": 0},
                   "checklist": [{"item": "ยา", "done": True}], "notes": "ทานยาครบ"},
        headers=team.h(team.cg),
    )  # fmt: skip
    assert done.status_code == 200, done.text
    assert done.json()["adl_score"] == 13
    session.expire_all()
    elder = session.get(Elder, team.elder.id)
    assert elder is not None and elder.adl_score == 13
    # The next plan visit is due a week after this one.
    open_plan = session.exec(
        select(Visit).where(
            Visit.elder_id == team.elder.id, Visit.reason == "plan", Visit.status == "scheduled",
            Visit.role == "caregiver",
        )
    ).all()  # fmt: skip
    assert len(open_plan) == 1
    assert open_plan[0].due_by is not None
    assert open_plan[0].due_by > datetime.now(UTC) + timedelta(days=5)
    # A completed visit cannot be reopened; a stale version is refused with the current one.
    reopen = client.patch(
        url, json={"version": done.json()["version"], "status": "scheduled"},
        headers=team.h(team.cg),
    )  # fmt: skip
    assert reopen.status_code == 422
    stale = client.patch(url, json={"version": 1, "notes": "x"}, headers=team.h(team.cg))
    assert stale.status_code == 409
    # Caregivers log visits; they do not reschedule them.
    assert (
        client.patch(
            url,
            json={"version": done.json()["version"], "due_by": now_iso()},
            headers=team.h(team.cg),
        ).status_code
        == 403
    )


def test_overdue_list_and_history_with_triage(
    client: TestClient, session: Session, team: Team
) -> None:
    session.add(
        Visit(
            elder_id=team.elder.id, due_from=datetime.now(UTC) - timedelta(days=5),
            due_by=datetime.now(UTC) - timedelta(days=3), assigned_to=team.cg.id,
        )
    )  # fmt: skip
    session.commit()
    overdue = client.get("/api/v1/visits/overdue", headers=team.h(team.cm)).json()
    assert [v["overdue"] for v in overdue] == [True]
    today = client.get("/api/v1/visits/today", headers=team.h(team.cg)).json()
    assert today[0]["overdue"] is True

    base = datetime.now(UTC) - timedelta(days=10)
    for day, systolic in enumerate((120, 186, 130)):
        response = client.post(
            f"/api/v1/elders/{team.elder.id}/observations",
            json={"id": str(uuid.uuid4()), "observed_at": (base + timedelta(days=day)).isoformat(),
                  "source": "manual", "readings": [
                      {"code": "systolic", "value": systolic}, {"code": "diastolic", "value": 80},
                      {"code": "spo2", "value": 97}]},
            headers=team.h(team.cg),
        )  # fmt: skip
        assert response.status_code == 201, response.text
    url = f"/api/v1/elders/{team.elder.id}/observations"
    history = client.get(url, params={"kind": "blood_pressure"}, headers=team.h(team.cm)).json()
    assert [p["value"] for p in history["points"] if p["code"] == "systolic"] == [120, 186, 130]
    assert {p["code"] for p in history["points"]} == {"systolic", "diastolic"}
    assert len(history["observations"]) == 3
    assert history["observations"][1]["priority"] is not None
    assert history["observations"][1]["reasons"]
    period = client.get(
        url, params={"since": (base + timedelta(days=1)).isoformat(),
                     "until": (base + timedelta(days=2)).isoformat()},
        headers=team.h(team.cm),
    ).json()  # fmt: skip
    assert {p["value"] for p in period["points"]} == {186, 80, 97}
    assert client.get(url, params={"kind": "colour"}, headers=team.h(team.cm)).status_code == 422
    reads = session.exec(
        select(AuditEntry).where(AuditEntry.entity == "observations", AuditEntry.action == "read")
    ).all()
    assert {a.actor_username for a in reads} == {"care_manager"}
    assert len(reads) == 2
    sources = {o.source for o in session.exec(select(Observation)).all()}
    assert sources == {"manual"}


def test_caregiver_never_reaches_another_caregivers_elder(
    client: TestClient, session: Session, team: Team
) -> None:
    plan = plan_for(client, team, team.other)
    plan_for(client, team, team.elder)
    own = client.post(
        "/api/v1/consults", json={"elder_id": str(team.elder.id), "question": "ชีพจรเร็ว"},
        headers=team.h(team.cg),
    )  # fmt: skip
    assert own.status_code == 201, own.text
    other_visit = session.exec(select(Visit).where(Visit.elder_id == team.other.id)).first()
    assert other_visit is not None
    consult = client.post(
        "/api/v1/consults", json={"elder_id": str(team.other.id), "question": "ความดันสูง"},
        headers=team.h(team.cm),
    ).json()  # fmt: skip
    h = team.h(team.cg)
    gets = [
        f"/api/v1/care-plans/{plan['id']}",
        f"/api/v1/visits/{other_visit.id}",
        f"/api/v1/elders/{team.other.id}/observations",
        f"/api/v1/elders/{team.other.id}/checkins",
        f"/api/v1/consults/{consult['id']}",
    ]
    for url in gets:
        assert client.get(url, headers=h).status_code == 404, url
    for url in ("/api/v1/care-plans", "/api/v1/visits", "/api/v1/visits/today", "/api/v1/consults"):
        response = client.get(url, headers=h)
        assert response.status_code == 200, url
        items = response.json()
        seen = [i["visit"]["elder_id"] if "visit" in i else i["elder_id"] for i in items]
        assert seen and str(team.other.id) not in seen, url
    writes = [
        ("PATCH", f"/api/v1/visits/{other_visit.id}", {"version": 1, "notes": "x"}),
        ("POST", f"/api/v1/visits/{other_visit.id}/observations",
         {"id": str(uuid.uuid4()), "observed_at": now_iso(), "readings": [{"code": "pulse", "value": 70}]}),
        ("POST", "/api/v1/visits", {"elder_id": str(team.other.id)}),
        ("POST", "/api/v1/consults", {"elder_id": str(team.other.id), "question": "?"}),
        ("POST", f"/api/v1/elders/{team.other.id}/checkins", {"seen_well": True}),
    ]  # fmt: skip
    for method, url, body in writes:
        assert client.request(method, url, json=body, headers=h).status_code == 404, url
    pulled = client.get("/api/v1/sync", headers=h).json()
    assert [e["id"] for e in pulled["elders"]] == [str(team.elder.id)]
    assert all(v["elder_id"] == str(team.elder.id) for v in pulled["visits"])
    assert all(c["elder_id"] == str(team.elder.id) for c in pulled["consults"])


def test_committee_is_refused_everywhere(client: TestClient, team: Team) -> None:
    h = team.h(team.committee)
    for method, url in [
        ("GET", "/api/v1/care-plans"), ("GET", "/api/v1/visits"), ("GET", "/api/v1/visits/today"),
        ("GET", f"/api/v1/elders/{team.elder.id}/observations"), ("GET", "/api/v1/consults"),
        ("GET", "/api/v1/sync"), ("POST", "/api/v1/sync"), ("GET", "/api/v1/reviews"),
    ]:  # fmt: skip
        assert client.request(method, url, json={}, headers=h).status_code == 403, url


def test_unscheduled_visit_is_idempotent(client: TestClient, session: Session, team: Team) -> None:
    visit_id = str(uuid.uuid4())
    body = {"id": visit_id, "elder_id": str(team.elder.id), "status": "completed",
            "started_at": now_iso(timedelta(hours=-1)), "ended_at": now_iso(),
            "notes": "เยี่ยมนอกแผน"}  # fmt: skip
    first = client.post("/api/v1/visits", json=body, headers=team.h(team.cg))
    second = client.post("/api/v1/visits", json=body, headers=team.h(team.cg))
    assert first.status_code == second.status_code == 201
    assert first.json()["id"] == second.json()["id"] == visit_id
    assert len(session.exec(select(Visit).where(Visit.elder_id == team.elder.id)).all()) == 1
    backwards = {**body, "id": str(uuid.uuid4()), "ended_at": now_iso(timedelta(hours=-2))}
    assert client.post("/api/v1/visits", json=backwards, headers=team.h(team.cg)).status_code == 422
    third = make_elder(session)
    other = {**body, "id": visit_id, "elder_id": str(third.id)}
    assert client.post("/api/v1/visits", json=other, headers=team.h(team.cm)).status_code == 409
