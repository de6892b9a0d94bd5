"""The care manager's desk over JSON: the caseload with its risk flags, the review queue
decided field by field (audited), visits due and their reassignment, the manager's record;
wrong roles get 403 and elders off the caseload are not shown (404)."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

from fastapi.testclient import TestClient
from sqlmodel import Session, select

from server.audit.models import AuditEntry
from server.auth.models import Role, User
from server.care.models import ReviewItem, ReviewStatus
from server.common.time import utcnow
from server.elders.models import Elder
from tests.support.care_team import Team, plan_for


def reading(client: TestClient, team: Team, elder: Elder, **values: float) -> dict[str, Any]:
    response = client.post(
        f"/api/v1/elders/{elder.id}/observations",
        json={"id": str(uuid.uuid4()), "observed_at": utcnow().isoformat(), "source": "manual",
              "readings": [{"code": k, "value": v} for k, v in values.items()]},
        headers=team.h(team.cg),
    )  # fmt: skip
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


def push(client: TestClient, user: User, team: Team, **record: Any) -> dict[str, Any]:
    record = {"id": str(uuid.uuid4()), "type": "elder_update", **record}
    response = client.post("/api/v1/sync", json={"records": [record]}, headers=team.h(user))
    assert response.status_code == 200, response.text
    result: dict[str, Any] = response.json()["results"][0]
    return result


def overdue_visit(client: TestClient, team: Team, elder: Elder) -> dict[str, Any]:
    response = client.post(
        "/api/v1/visits",
        json={"elder_id": str(elder.id), "reason": "urgent", "assigned_to": str(team.cg.id),
              "due_by": (utcnow() - timedelta(days=2)).isoformat()},
        headers=team.h(team.cm),
    )  # fmt: skip
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


def test_caseload_flags_the_elders_at_risk(
    client: TestClient, team: Team, session: Session
) -> None:
    reading(client, team, team.elder, systolic=165, diastolic=100)
    overdue_visit(client, team, team.elder)
    response = client.get("/api/v1/manager/caseload", headers=team.h(team.cm))
    assert response.status_code == 200, response.text
    body = response.json()
    # Only the elders this care manager manages: `other` has none.
    assert [e["id"] for e in body["elders"]] == [str(team.elder.id)]
    row = body["elders"][0]
    assert {"alone", "overdue", "followup"} <= set(row["flags"])
    assert row["overdue_visits"] == 1 and row["open_followups"] == 1
    assert row["adl_group"] == "home_bound"
    assert body["communities"] == [team.elder.community]
    reads = session.exec(
        select(AuditEntry).where(AuditEntry.entity == "caseload", AuditEntry.action == "read")
    ).all()
    assert [r.elder_id for r in reads] == [team.elder.id]
    # The map's coordinates come with the caseload, and the read names them (PDPA).
    assert (row["latitude"], row["longitude"]) == (team.elder.latitude, team.elder.longitude)
    assert "home_location" in reads[0].fields


def test_caseload_red_and_bedbound(client: TestClient, team: Team, session: Session) -> None:
    elder = session.get(Elder, team.elder.id)
    assert elder is not None
    elder.adl_score = 3
    session.add(elder)
    session.commit()
    reading(client, team, team.elder, spo2=84)
    row = client.get("/api/v1/manager/caseload", headers=team.h(team.cm)).json()["elders"][0]
    assert row["flags"][0] == "red" and "bedbound" in row["flags"] and row["red"] == 1


def test_wrong_roles_are_refused(client: TestClient, team: Team) -> None:
    for user in (team.cg, team.vol, team.clinician, team.committee):
        for path in ("/caseload", "/reviews", "/visits", f"/elders/{team.elder.id}/record"):
            response = client.get(f"/api/v1/manager{path}", headers=team.h(user))
            assert response.status_code == 403, (user.role, path)
        decide = client.post(
            f"/api/v1/manager/reviews/{uuid.uuid4()}/decide",
            json={"choices": {"phone": "ours"}}, headers=team.h(user),
        )  # fmt: skip
        assert decide.status_code == 403


def conflict(client: TestClient, team: Team) -> str:
    """Two tablets edit phone and address from version 1: the second is a conflict."""
    first = push(
        client, team.cg, team, target_id=str(team.elder.id), base_version=1,
        data={"phone": "0822222222", "address": "1 ถนนใหม่"},
    )  # fmt: skip
    assert first["result"] == "stored", first
    second = push(
        client, team.vol, team, target_id=str(team.elder.id), base_version=1,
        data={"phone": "0833333333", "address": "2 ซอยเดิม"},
        base={"phone": None, "address": "99 หมู่ 1"},
    )  # fmt: skip
    assert second["result"] == "conflict", second
    return str(second["review_id"])


def test_a_conflict_is_decided_field_by_field_and_audited(
    client: TestClient, team: Team, session: Session
) -> None:
    review_id = conflict(client, team)
    queue = client.get(
        "/api/v1/manager/reviews", params={"kind": "sync_conflict"}, headers=team.h(team.cm)
    ).json()
    assert [q["id"] for q in queue] == [review_id]
    fields = {f["name"]: f for f in queue[0]["fields"]}
    assert fields["phone"] == {
        "name": "phone", "base": None, "has_base": True, "theirs": "0833333333",
        "ours": "0822222222",
    }  # fmt: skip
    assert fields["address"]["base"] == "99 หมู่ 1" and fields["address"]["ours"] == "1 ถนนใหม่"
    assert queue[0]["elder_name"] and queue[0]["raised_by_name"] == team.vol.full_name

    url = f"/api/v1/manager/reviews/{review_id}/decide"
    partial = client.post(url, json={"choices": {"phone": "theirs"}}, headers=team.h(team.cm))
    assert partial.status_code == 422 and partial.json()["detail"]["code"] == "undecided"
    unknown = client.post(
        url, json={"choices": {"phone": "theirs", "address": "ours", "allergies": "ours"}},
        headers=team.h(team.cm),
    )  # fmt: skip
    assert unknown.status_code == 422
    supervisor = client.post(
        url, json={"choices": {"phone": "theirs", "address": "ours"}},
        headers=team.h(_user(session, Role.SUPERVISOR)),
    )  # fmt: skip
    assert supervisor.status_code == 403

    decided = client.post(
        url, json={"choices": {"phone": "theirs", "address": "base"}, "note": "โทรยืนยันแล้ว"},
        headers=team.h(team.cm),
    )  # fmt: skip
    assert decided.status_code == 200, decided.text
    assert decided.json()["applied"] == {"phone": "0833333333", "address": "99 หมู่ 1"}
    session.expire_all()
    elder = session.get(Elder, team.elder.id)
    assert elder is not None
    assert (elder.phone, elder.address, elder.version) == ("0833333333", "99 หมู่ 1", 3)
    item = session.get(ReviewItem, uuid.UUID(review_id))
    assert item is not None and item.status == ReviewStatus.RESOLVED
    assert item.resolution == "โทรยืนยันแล้ว" and item.resolved_by == team.cm.id
    entry = session.exec(select(AuditEntry).where(AuditEntry.action == "decide")).one()
    assert entry.actor_id == team.cm.id and entry.entity_id == review_id
    assert entry.detail["choices"] == {"address": "base", "phone": "theirs"}
    assert entry.detail["applied"] == ["address", "phone"]
    again = client.post(
        url, json={"choices": {"phone": "ours", "address": "ours"}}, headers=team.h(team.cm)
    )
    assert again.status_code == 409


def _user(session: Session, role: Role) -> User:
    return session.exec(select(User).where(User.role == role)).first()  # type: ignore[return-value]


def test_keep_current_changes_nothing_but_closes(
    client: TestClient, team: Team, session: Session
) -> None:
    review_id = conflict(client, team)
    decided = client.post(
        f"/api/v1/manager/reviews/{review_id}/decide",
        json={"choices": {"phone": "ours", "address": "ours"}}, headers=team.h(team.cm),
    )  # fmt: skip
    assert decided.status_code == 200 and decided.json()["applied"] == {}
    session.expire_all()
    elder = session.get(Elder, team.elder.id)
    assert elder is not None and (elder.phone, elder.version) == ("0822222222", 2)


def test_a_volunteers_change_can_be_reverted(
    client: TestClient, team: Team, session: Session
) -> None:
    response = client.patch(
        f"/api/v1/elders/{team.elder.id}/contact",
        json={"version": 1, "lives_alone": False, "has_carer": True},
        headers=team.h(team.vol),
    )  # fmt: skip
    assert response.status_code == 200, response.text
    queue = client.get(
        "/api/v1/manager/reviews", params={"kind": "volunteer_change"}, headers=team.h(team.cm)
    ).json()
    fields = {f["name"]: f for f in queue[0]["fields"]}
    assert fields["lives_alone"]["base"] is True and fields["lives_alone"]["theirs"] is False
    decided = client.post(
        f"/api/v1/manager/reviews/{queue[0]['id']}/decide",
        json={"choices": {"lives_alone": "base", "has_carer": "theirs"}},
        headers=team.h(team.cm),
    )  # fmt: skip
    assert decided.status_code == 200, decided.text
    session.expire_all()
    elder = session.get(Elder, team.elder.id)
    assert elder is not None and elder.lives_alone is True and elder.has_carer is True


def test_elders_off_the_caseload_are_not_shown(
    client: TestClient, team: Team, session: Session, make_user: Any
) -> None:
    review_id = conflict(client, team)
    other_cm = make_user(Role.CARE_MANAGER, "care-manager-2")
    assert client.get("/api/v1/manager/caseload", headers=team.h(other_cm)).json()["elders"] == []
    assert client.get("/api/v1/manager/reviews", headers=team.h(other_cm)).json() == []
    record = client.get(f"/api/v1/manager/elders/{team.elder.id}/record", headers=team.h(other_cm))
    assert record.status_code == 404
    decide = client.post(
        f"/api/v1/manager/reviews/{review_id}/decide",
        json={"choices": {"phone": "theirs", "address": "theirs"}}, headers=team.h(other_cm),
    )  # fmt: skip
    assert decide.status_code == 404
    mine = client.get(f"/api/v1/manager/elders/{team.other.id}/record", headers=team.h(team.cm))
    assert mine.status_code == 404


def test_visits_due_and_reassignment(client: TestClient, team: Team) -> None:
    visit = overdue_visit(client, team, team.elder)
    body = client.get("/api/v1/manager/visits", headers=team.h(team.cm)).json()
    assert [v["id"] for v in body["visits"]] == [visit["id"]]
    assert body["visits"][0]["overdue"] is True
    assert {p["id"] for p in body["caregivers"]} >= {str(team.cg.id), str(team.other_cg.id)}
    moved = client.patch(
        f"/api/v1/visits/{visit['id']}",
        json={"version": visit["version"], "assigned_to": str(team.other_cg.id)},
        headers=team.h(team.cm),
    )  # fmt: skip
    assert moved.status_code == 200, moved.text
    again = client.get("/api/v1/manager/visits", headers=team.h(team.cm)).json()
    assert again["visits"][0]["assigned_to"] == str(team.other_cg.id)


def test_follow_ups_carry_their_readings(client: TestClient, team: Team) -> None:
    reading(client, team, team.elder, systolic=165, diastolic=100)
    items = client.get(
        "/api/v1/manager/reviews",
        params=[("kind", "abnormal_reading"), ("kind", "critical_reading")],
        headers=team.h(team.cm),
    ).json()
    assert len(items) == 1 and items[0]["readings"][0]["values"] == {
        "systolic": 165.0, "diastolic": 100.0,
    }  # fmt: skip
    not_decidable = client.post(
        f"/api/v1/manager/reviews/{items[0]['id']}/decide",
        json={"choices": {"phone": "ours"}}, headers=team.h(team.cm),
    )  # fmt: skip
    assert not_decidable.status_code == 422


def test_the_record_shows_targets_with_who_set_them_and_adl_history(
    client: TestClient, team: Team, session: Session
) -> None:
    plan = plan_for(client, team, team.elder)
    targets = client.put(
        f"/api/v1/care-plans/{plan['id']}/targets",
        json={"version": plan["version"], "targets": {"bp_target": {"systolic_max": 150,
              "diastolic_max": 90}}},
        headers=team.h(team.clinician),
    )  # fmt: skip
    assert targets.status_code == 200, targets.text
    visit = client.post(
        "/api/v1/visits",
        json={"elder_id": str(team.elder.id), "status": "completed", "adl_score": 11,
              "started_at": utcnow().isoformat(), "ended_at": utcnow().isoformat()},
        headers=team.h(team.cg),
    )  # fmt: skip
    assert visit.status_code == 201, visit.text
    record = client.get(f"/api/v1/manager/elders/{team.elder.id}/record", headers=team.h(team.cm))
    assert record.status_code == 200, record.text
    body = record.json()
    assert body["targets"]["set_by"] == team.clinician.full_name
    assert body["targets"]["overrides"]["bp_target"]["systolic_max"] == 150
    assert [p["score"] for p in body["adl_history"]] == [11]
    assert {p["id"] for p in body["caregivers"]} >= {str(team.cg.id)}
    read = session.exec(
        select(AuditEntry).where(AuditEntry.action == "read", AuditEntry.entity == "elder")
    ).all()
    assert any("adl_history" in r.fields for r in read)


def test_the_caseload_costs_the_same_few_queries_for_any_size(
    client: TestClient, team: Team, session: Session, app: Any
) -> None:
    import sqlalchemy as sa

    from tests.support.records import make_elder

    def statements() -> int:
        seen: list[str] = []

        def count(*args: Any) -> None:
            seen.append(str(args[2]))

        sa.event.listen(app.state.engine, "before_cursor_execute", count)
        try:
            response = client.get("/api/v1/manager/caseload", headers=team.h(team.cm))
            assert response.status_code == 200
        finally:
            sa.event.remove(app.state.engine, "before_cursor_execute", count)
        return len([s for s in seen if s.lstrip().upper().startswith("SELECT")])

    statements()  # the first request of an app warms caches of its own
    few = statements()
    for n in range(20):
        make_elder(session, care_manager_id=team.cm.id, first_name=f"คนที่{n}")
    # Sign-in bookkeeping and the server's background loops (timers, supervision, surveys),
    # which share the engine, may add a few; 20 more elders add none of their own.
    assert few <= 10 and statements() <= few + 4
