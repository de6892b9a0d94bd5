"""The batched push: a mixed batch answered record by record as before, a RED reading on the
emergency path, the statements a batch costs, and the one-by-one fallback."""

from __future__ import annotations

import threading
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import sqlalchemy as sa
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import event
from sqlmodel import Session, select

from server.alerts.models import Alert
from server.audit.models import AuditEntry
from server.auth.models import User
from server.care.models import CareNote, ReviewItem, SyncReceipt, Visit
from server.observations.models import Observation
from server.sync import fast
from server.sync import push as sync_push
from tests.support.care_team import Team, plan_for


def at(minutes: int = 0) -> str:
    return (datetime.now(UTC) + timedelta(minutes=minutes)).isoformat()


def reading(elder_id: uuid.UUID, visit_id: str | None, **values: float) -> dict[str, Any]:
    data: dict[str, Any] = {
        "elder_id": str(elder_id), "observed_at": at(),
        "readings": [{"code": k, "value": v} for k, v in values.items()],
    }  # fmt: skip
    if visit_id is not None:
        data["visit_id"] = visit_id
    return {"id": str(uuid.uuid4()), "type": "observation", "data": data}


def mixed_batch(team: Team, plan_visit: Visit, earlier_note: dict[str, Any]) -> list[Any]:
    visit_id = str(uuid.uuid4())
    normal = reading(team.elder.id, visit_id, systolic=124, diastolic=78)
    return [
        {"id": visit_id, "type": "visit", "data": {
            "elder_id": str(team.elder.id), "status": "in_progress", "started_at": at(-30)}},
        normal,
        {"id": str(uuid.uuid4()), "type": "checkin", "data": {
            "elder_id": str(team.elder.id), "seen_well": True}},
        earlier_note,  # sent in an earlier batch: a duplicate
        reading(team.elder.id, visit_id, spo2=84),  # RED
        normal,  # repeated in this batch: a duplicate
        {"id": str(uuid.uuid4()), "type": "visit_update", "target_id": str(plan_visit.id),
         "base_version": 1, "data": {"status": "completed"}},  # stale: a conflict
        reading(team.elder.id, str(uuid.uuid4()), pulse=80),  # unknown visit
        {"id": str(uuid.uuid4()), "type": "note", "data": {
            "elder_id": str(team.other.id), "text": "x"}},  # another caregiver's elder
        {"id": str(uuid.uuid4()), "type": "observation", "data": {
            "elder_id": str(team.elder.id), "observed_at": at(),
            "readings": [{"code": "glucose", "value": 5, "unit": "kg"}]}},  # invalid
        {"id": str(uuid.uuid4()), "type": "visit_update", "target_id": visit_id,
         "base_version": 1, "data": {"status": "completed", "ended_at": at()}},
        {"id": str(uuid.uuid4()), "type": "note", "data": {
            "elder_id": str(team.elder.id), "visit_id": visit_id, "text": "สบายดี"}},
    ]  # fmt: skip


EXPECTED = [
    "stored", "stored", "stored", "duplicate", "stored", "duplicate", "conflict",
    "rejected", "rejected", "rejected", "stored", "stored",
]  # fmt: skip


def prepare(client: TestClient, session: Session, team: Team) -> tuple[Visit, dict[str, Any]]:
    plan_for(client, team, team.elder)
    plan_visit = session.exec(
        select(Visit).where(Visit.elder_id == team.elder.id, Visit.role == "caregiver")
    ).one()
    moved = client.patch(
        f"/api/v1/visits/{plan_visit.id}", json={"version": 1, "notes": "นัดใหม่"},
        headers=team.h(team.cm),
    )  # fmt: skip
    assert moved.status_code == 200
    note = {"id": str(uuid.uuid4()), "type": "note", "data": {
        "elder_id": str(team.elder.id), "text": "ครั้งก่อน"}}  # fmt: skip
    first = client.post("/api/v1/sync", json={"records": [note]}, headers=team.h(team.cg))
    assert first.json()["results"][0]["result"] == "stored"
    return plan_visit, note


def check_mixed(results: list[dict[str, Any]], session: Session, team: Team) -> None:
    assert [r["result"] for r in results] == EXPECTED, results
    assert results[3]["detail"] == {"first_result": "stored"}
    red = results[4]
    assert red["detail"]["priority"] == "RED"
    assert red["detail"]["follow_up"]["alert"] == "raised"
    alert = session.get(Alert, uuid.UUID(red["detail"]["follow_up"]["alert_id"]))
    assert alert is not None and alert.elder_id == team.elder.id
    assert str(alert.observation_id) == red["id"]
    assert results[5]["target_id"] == results[1]["target_id"]
    assert results[6]["reason"] == "stale_version" and results[6]["review_id"]
    assert results[7]["reason"] == "unknown_visit"
    assert results[8]["reason"] == "not_found"
    assert results[9]["reason"] == "invalid" and "unit" in results[9]["message"]
    assert results[10]["version"] == 2
    session.expire_all()
    visit = session.get(Visit, uuid.UUID(results[0]["id"]))
    assert visit is not None and visit.status == "completed" and visit.version == 2
    stored_ids = {uuid.UUID(r["id"]) for r in results if r["result"] == "stored"}
    assert {o.id for o in session.exec(select(Observation)).all()} == {
        uuid.UUID(results[1]["id"]),
        uuid.UUID(red["id"]),
    }
    assert session.get(CareNote, uuid.UUID(results[11]["id"])) is not None
    receipts = {r.record_id for r in session.exec(select(SyncReceipt)).all()}
    assert stored_ids | {uuid.UUID(results[6]["id"])} <= receipts
    kinds = {r.kind for r in session.exec(select(ReviewItem)).all()}
    assert {"critical_reading", "sync_conflict"} <= kinds
    created = session.exec(
        select(AuditEntry.entity_id).where(
            AuditEntry.action == "create", AuditEntry.actor_id == team.cg.id
        )
    ).all()
    for r in (results[0], results[1], results[4], results[11]):
        assert created.count(r["id"]) == 1, r


def test_mixed_batch_answers_each_record(client: TestClient, session: Session, team: Team) -> None:
    plan_visit, note = prepare(client, session, team)
    records = mixed_batch(team, plan_visit, note)
    response = client.post("/api/v1/sync", json={"records": records}, headers=team.h(team.cg))
    assert response.status_code == 200, response.text
    check_mixed(response.json()["results"], session, team)
    # Sent again: nothing new is stored, the refused stay refused.
    again = client.post("/api/v1/sync", json={"records": records}, headers=team.h(team.cg))
    answers = [r["result"] for r in again.json()["results"]]
    assert answers == ["duplicate"] * 7 + ["rejected"] * 3 + ["duplicate"] * 2
    assert len(session.exec(select(Observation)).all()) == 2
    assert len(session.exec(select(Alert)).all()) == 1


def test_fallback_one_by_one_gives_the_same_answers(
    client: TestClient, session: Session, team: Team, monkeypatch: pytest.MonkeyPatch
) -> None:
    """If the database refuses what the fast lane staged, the batch goes one by one."""

    def refuse(self: fast.FastLane) -> None:
        raise sa.exc.IntegrityError("INSERT", {}, Exception("refused"))

    plan_visit, note = prepare(client, session, team)
    monkeypatch.setattr(fast.FastLane, "write", refuse)
    records = mixed_batch(team, plan_visit, note)
    response = client.post("/api/v1/sync", json={"records": records}, headers=team.h(team.cg))
    assert response.status_code == 200, response.text
    check_mixed(response.json()["results"], session, team)


@contextmanager
def statements_here(engine: sa.Engine) -> Iterator[list[str]]:
    """SQL statements run by this thread (not the app's background tasks)."""
    seen: list[str] = []
    me = threading.get_ident()

    def count(*args: Any) -> None:
        if threading.get_ident() == me:
            seen.append(str(args[2]))

    event.listen(engine, "before_cursor_execute", count)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", count)


# Record by record a batch cost ~11 statements a record; batched, its cost grows with the
# elders and tables it touches, not with its records.
MAX_STATEMENTS_FOR_100 = 40


def test_statements_for_100_records_are_bounded(app: FastAPI, team: Team) -> None:
    records: list[dict[str, Any]] = []
    visit_ids = [str(uuid.uuid4()) for _ in range(10)]
    for visit_id in visit_ids:
        records.append({"id": visit_id, "type": "visit", "data": {
            "elder_id": str(team.elder.id), "status": "in_progress", "started_at": at(-60)}})  # fmt: skip
    for n in range(60):
        records.append(
            reading(team.elder.id, visit_ids[n % 10], systolic=118 + n % 40, diastolic=78,
                    pulse=70, spo2=97)
        )  # fmt: skip
    for n in range(20):
        records.append({"id": str(uuid.uuid4()), "type": "note", "data": {
            "elder_id": str(team.elder.id), "visit_id": visit_ids[n % 10], "text": "สบายดี"}})  # fmt: skip
    for visit_id in visit_ids:
        records.append({"id": str(uuid.uuid4()), "type": "visit_update", "target_id": visit_id,
                        "base_version": 1, "data": {"status": "completed", "ended_at": at()}})  # fmt: skip
    engine: sa.Engine = app.state.engine
    with Session(engine, expire_on_commit=False) as session:
        user = session.get(User, team.cg.id)
        assert user is not None
        with statements_here(engine) as seen:
            out = sync_push.push(session, user=user, records=records, locale="th", request_id="t")
            session.commit()
    assert out.counts["stored"] == 100, out.counts
    assert len(seen) <= MAX_STATEMENTS_FOR_100, "\n".join(seen)
