"""Offline sync: per-record results, idempotency, conflicts to review, cursor and tombstones."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

from fastapi.testclient import TestClient
from sqlmodel import Session, select

from server.care.models import CareNote, Checkin, ReviewItem, Visit
from server.elders.models import Elder
from server.observations.models import Observation
from tests.support.care_team import Team, plan_for


def at() -> str:
    return datetime.now(UTC).isoformat()


def batch(team: Team) -> tuple[list[Any], dict[str, str]]:
    visit_id, obs_id, note_id = (str(uuid.uuid4()) for _ in range(3))
    records: list[Any] = [
        {"id": visit_id, "type": "visit", "data": {
            "elder_id": str(team.elder.id), "status": "in_progress", "started_at": at()}},
        {"id": obs_id, "type": "observation", "data": {
            "elder_id": str(team.elder.id), "visit_id": visit_id, "observed_at": at(),
            "readings": [{"code": "systolic", "value": 124}, {"code": "diastolic", "value": 78}]}},
        {"id": note_id, "type": "note", "data": {
            "elder_id": str(team.elder.id), "visit_id": visit_id, "text": "สบายดี"}},
        # malformed: no id; unknown type; implausible unit; not a dict; other caregiver's elder
        {"type": "note", "data": {}},
        {"id": str(uuid.uuid4()), "type": "teleport", "data": {}},
        {"id": str(uuid.uuid4()), "type": "observation", "data": {
            "elder_id": str(team.elder.id), "observed_at": at(),
            "readings": [{"code": "glucose", "value": 5, "unit": "kg"}]}},
        "not a record",
        {"id": str(uuid.uuid4()), "type": "note", "data": {
            "elder_id": str(team.other.id), "text": "x"}},
    ]  # fmt: skip
    return records, {"visit": visit_id, "observation": obs_id, "note": note_id}


def test_batch_results_per_record_and_idempotent_resend(
    client: TestClient, session: Session, team: Team
) -> None:
    records, ids = batch(team)
    response = client.post("/api/v1/sync", json={"records": records}, headers=team.h(team.cg))
    assert response.status_code == 200, response.text
    results = response.json()["results"]
    assert [r["result"] for r in results] == ["stored"] * 3 + ["rejected"] * 5
    assert results[3]["reason"] == "invalid" and results[3]["field"] == "id"
    assert results[4]["reason"] == "invalid" and results[4]["field"] == "type"
    assert "unit" in results[5]["message"]
    assert results[7]["reason"] == "not_found"
    assert response.json()["counts"] == {"stored": 3, "duplicate": 0, "conflict": 0, "rejected": 5}
    assert session.get(Visit, uuid.UUID(ids["visit"])) is not None
    observation = session.get(Observation, uuid.UUID(ids["observation"]))
    assert observation is not None and observation.visit_id == uuid.UUID(ids["visit"])
    assert session.get(CareNote, uuid.UUID(ids["note"])) is not None

    again = client.post("/api/v1/sync", json={"records": records}, headers=team.h(team.cg))
    assert [r["result"] for r in again.json()["results"]] == ["duplicate"] * 3 + ["rejected"] * 5
    assert len(session.exec(select(Observation)).all()) == 1
    assert len(session.exec(select(CareNote)).all()) == 1
    # The same record id from another person is not theirs to replay.
    stolen = client.post("/api/v1/sync", json={"records": records[:1]}, headers=team.h(team.cm))
    assert stolen.json()["results"][0]["result"] == "rejected"
    bad_json = client.post(
        "/api/v1/sync", content=b"{not json", headers={**team.h(team.cg),
                                                      "content-type": "application/json"},
    )  # fmt: skip
    assert bad_json.status_code == 422


def test_stale_edit_goes_to_review_with_both_versions(
    client: TestClient, session: Session, team: Team
) -> None:
    plan_for(client, team, team.elder)
    visit = session.exec(
        select(Visit).where(Visit.elder_id == team.elder.id, Visit.role == "caregiver")
    ).one()
    # The care manager moves the visit on the server while the tablet is offline.
    moved = client.patch(
        f"/api/v1/visits/{visit.id}", json={"version": 1, "notes": "นัดใหม่"},
        headers=team.h(team.cm),
    )  # fmt: skip
    assert moved.status_code == 200
    edit = {"id": str(uuid.uuid4()), "type": "visit_update", "target_id": str(visit.id),
            "base_version": 1, "data": {"status": "completed", "notes": "เยี่ยมแล้ว"}}  # fmt: skip
    fresh = {"id": str(uuid.uuid4()), "type": "visit_update", "target_id": str(visit.id),
             "base_version": 2, "data": {"problems": ["เวียนศีรษะ"]}}  # fmt: skip
    response = client.post("/api/v1/sync", json={"records": [edit, fresh]}, headers=team.h(team.cg))
    conflict, stored = response.json()["results"]
    assert conflict["result"] == "conflict" and conflict["version"] == 2
    assert stored["result"] == "stored" and stored["version"] == 3
    session.expire_all()
    current = session.get(Visit, visit.id)
    assert current is not None
    assert current.notes == "นัดใหม่" and current.status == "scheduled"
    review = session.get(ReviewItem, uuid.UUID(conflict["review_id"]))
    assert review is not None and review.kind == "sync_conflict"
    assert review.detail["server"]["notes"] == "นัดใหม่"
    assert review.detail["client"] == {"status": "completed", "notes": "เยี่ยมแล้ว"}
    # Re-sending the stale edit answers the same and adds no second review.
    resent = client.post("/api/v1/sync", json={"records": [edit]}, headers=team.h(team.cg))
    assert resent.json()["results"][0]["result"] == "duplicate"
    assert resent.json()["results"][0]["detail"]["first_result"] == "conflict"
    assert len(session.exec(select(ReviewItem)).all()) == 1
    queue = client.get("/api/v1/reviews", headers=team.h(team.cm)).json()
    assert [q["id"] for q in queue] == [conflict["review_id"]]
    resolved = client.post(
        f"/api/v1/reviews/{conflict['review_id']}/resolve",
        json={"apply_client": True, "resolution": "ใช้ข้อมูลจากแท็บเล็ต"},
        headers=team.h(team.cm),
    )  # fmt: skip
    assert resolved.status_code == 200, resolved.text
    session.expire_all()
    current = session.get(Visit, visit.id)
    assert current is not None
    assert current.status == "completed" and current.notes == "เยี่ยมแล้ว" and current.version == 4
    assert client.get("/api/v1/reviews", headers=team.h(team.cm)).json() == []


def test_pull_cursor_changes_and_tombstones(
    client: TestClient, session: Session, team: Team
) -> None:
    plan_for(client, team, team.elder)
    h = team.h(team.cg)
    first = client.get("/api/v1/sync", headers=h).json()
    assert first["full"] is True
    assert [e["id"] for e in first["elders"]] == [str(team.elder.id)]
    assert len(first["care_plans"]) == 1 and len(first["visits"]) == 2
    nothing = client.get("/api/v1/sync", params={"since": first["cursor"]}, headers=h).json()
    assert nothing["visits"] == [] and nothing["care_plans"] == [] and nothing["tombstones"] == []

    visit = session.exec(
        select(Visit).where(Visit.elder_id == team.elder.id, Visit.role == "caregiver")
    ).one()
    client.patch(f"/api/v1/visits/{visit.id}", json={"version": 1, "notes": "x"},
                 headers=team.h(team.cm))  # fmt: skip
    changed = client.get("/api/v1/sync", params={"since": nothing["cursor"]}, headers=h).json()
    assert [v["id"] for v in changed["visits"]] == [str(visit.id)]

    # The elder is handed to another caregiver: this tablet must drop them.
    elder = session.get(Elder, team.elder.id)
    assert elder is not None
    elder.caregiver_id = team.other_cg.id
    elder.version += 1
    session.add(elder)
    session.commit()
    dropped = client.get("/api/v1/sync", params={"since": changed["cursor"]}, headers=h).json()
    assert dropped["tombstones"] == [{"entity": "elder", "id": str(team.elder.id)}]
    assert dropped["elders"] == [] and dropped["visits"] == []
    gained = client.get("/api/v1/sync", headers=team.h(team.other_cg)).json()
    assert {e["id"] for e in gained["elders"]} == {str(team.elder.id), str(team.other.id)}
    after = client.get("/api/v1/sync", params={"since": dropped["cursor"]}, headers=h).json()
    assert after["tombstones"] == []
    assert client.get("/api/v1/sync", params={"since": "garbage!"}, headers=h).status_code == 422


def test_volunteer_updates_checkins_and_flags(
    client: TestClient, session: Session, team: Team
) -> None:
    h = team.h(team.vol)
    records = [
        {"id": str(uuid.uuid4()), "type": "elder_update", "target_id": str(team.elder.id),
         "base_version": 1, "data": {"lives_alone": False, "has_carer": True,
                                     "access_notes": "กุญแจใต้กระถาง"}},
        {"id": str(uuid.uuid4()), "type": "checkin",
         "data": {"elder_id": str(team.elder.id), "seen_well": False, "note": "ไอ"}},
        {"id": str(uuid.uuid4()), "type": "observation",
         "data": {"elder_id": str(team.elder.id), "observed_at": at(),
                  "readings": [{"code": "pulse", "value": 70}]}},
        {"id": str(uuid.uuid4()), "type": "elder_update", "target_id": str(team.elder.id),
         "base_version": 2, "data": {"medications": "ยาใหม่"}},
        {"id": str(uuid.uuid4()), "type": "elder_update", "target_id": str(team.elder.id),
         "base_version": 1, "data": {"phone": "0811111111"}},
    ]  # fmt: skip
    response = client.post("/api/v1/sync", json={"records": records}, headers=h)
    results = response.json()["results"]
    assert [r["result"] for r in results] == [
        "stored",
        "stored",
        "rejected",
        "rejected",
        "conflict",
    ]
    assert results[2]["reason"] == "forbidden"
    assert results[3]["reason"] == "field_not_editable"
    session.expire_all()
    elder = session.get(Elder, team.elder.id)
    assert elder is not None and elder.lives_alone is False and elder.phone is None
    kinds = sorted(r.kind for r in session.exec(select(ReviewItem)).all())
    assert kinds == ["not_seen_well", "sync_conflict", "volunteer_change"]
    change = session.exec(select(ReviewItem).where(ReviewItem.kind == "volunteer_change")).one()
    assert change.detail["changes"]["lives_alone"] == {"from": True, "to": False}
    assert "access_notes" not in change.detail["changes"]
    assert len(session.exec(select(Checkin)).all()) == 1
    pulled = client.get("/api/v1/sync", headers=h).json()
    assert [e["id"] for e in pulled["elders"]] == [str(team.elder.id)]
    assert pulled["elders"][0]["medications"] is None
    assert pulled["visits"] == [] and pulled["observations"] == [] and len(pulled["checkins"]) == 1
    # The online route flags the same way.
    online = client.patch(
        f"/api/v1/elders/{team.elder.id}/contact", json={"version": 2, "lives_alone": True},
        headers=h,
    )  # fmt: skip
    assert online.status_code == 200, online.text
    assert (
        client.patch(
            f"/api/v1/elders/{team.elder.id}/contact",
            json={"version": 3, "adl_score": 3},
            headers=h,
        ).status_code
        == 403
    )
