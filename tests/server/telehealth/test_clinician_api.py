"""The clinician's consultation APIs: the queue with names, the case in one answer, spoken
advice as the whole answer, the overdue flag the care manager reads, and who may see what."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from fastapi.testclient import TestClient
from sqlmodel import Session, col, select

from server.audit.models import AuditEntry
from server.auth.models import Role
from server.care.models import Consult, ConsultStatus, ConsultUrgency
from server.telehealth.consults import is_overdue
from tests.support.care_team import Team, plan_for

WEBM = b"\x1a\x45\xdf\xa3" + bytes(range(256)) * 8


def _ask(client: TestClient, team: Team, urgency: str = "routine", **extra: object) -> dict:  # type: ignore[type-arg]
    response = client.post(
        "/api/v1/consults",
        json={"elder_id": str(team.elder.id), "question": "ความดันสูงตอนเช้า", "urgency": urgency,
              **extra},
        headers=team.h(team.cg),
    )  # fmt: skip
    assert response.status_code == 201, response.text
    result: dict = response.json()  # type: ignore[type-arg]
    return result


def _age(session: Session, consult_id: str, hours: float) -> None:
    row = session.get(Consult, uuid.UUID(consult_id))
    assert row is not None
    row.created_at = datetime.now(UTC) - timedelta(hours=hours)
    session.add(row)
    session.commit()


def test_queue_and_case(client: TestClient, session: Session, team: Team) -> None:
    plan_for(
        client, team, team.elder, targets={"bp_target": {"systolic_max": 150, "diastolic_max": 90}}
    )
    obs_id = str(uuid.uuid4())
    reading = client.post(
        f"/api/v1/elders/{team.elder.id}/observations",
        json={"id": obs_id, "observed_at": datetime.now(UTC).isoformat(),
              "readings": [{"code": "systolic", "value": 172, "unit": "mm[Hg]"},
                           {"code": "diastolic", "value": 96, "unit": "mm[Hg]"}]},
        headers=team.h(team.cg),
    )  # fmt: skip
    assert reading.status_code == 201, reading.text
    routine = _ask(client, team)
    urgent = _ask(client, team, "urgent", observation_ids=[obs_id])
    note = client.post(
        f"/api/v1/consults/{urgent['id']}/voice-notes", content=WEBM,
        headers={**team.h(team.cg), "content-type": "audio/webm"},
    )  # fmt: skip
    assert note.status_code == 201, note.text

    queue = client.get("/api/v1/consults/queue", headers=team.h(team.clinician))
    assert queue.status_code == 200, queue.text
    items = queue.json()
    assert [i["consult"]["id"] for i in items] == [urgent["id"], routine["id"]]
    assert items[0]["elder_name"].endswith(team.elder.last_name)
    assert items[0]["community"] == team.elder.community

    session.exec(select(AuditEntry)).all()
    before = len(session.exec(select(AuditEntry).where(AuditEntry.action == "read")).all())
    case = client.get(f"/api/v1/consults/{urgent['id']}/case", headers=team.h(team.clinician))
    assert case.status_code == 200, case.text
    body = case.json()
    assert body["consult"]["question"] == "ความดันสูงตอนเช้า"
    assert body["elder"]["id"] == str(team.elder.id) and "national_id" not in body["elder"]
    assert body["plan"]["targets"]["bp_target"]["systolic_max"] == 150
    assert [n["id"] for n in body["voice_notes"]] == [note.json()["id"]]
    assert {p["observation_id"] for p in body["around"]["points"]} == {obs_id}
    assert body["history_days"] == 365
    assert [values for _at, values in body["history"]] == [{"systolic": 172, "diastolic": 96}]
    reads = session.exec(
        select(AuditEntry).where(
            AuditEntry.action == "read", AuditEntry.actor_id == team.clinician.id
        )
    ).all()
    assert len(reads) > before
    # The case names what was shown: the consultation with its voice notes and the readings.
    entities = {r.entity for r in reads}
    assert {"consult", "observations"} <= entities
    assert all(r.elder_id == team.elder.id for r in reads if r.entity == "consult")


def test_spoken_advice_alone_is_an_answer(client: TestClient, session: Session, team: Team) -> None:
    asked = _ask(client, team, "soon")
    url = f"/api/v1/consults/{asked['id']}"
    mine = client.post(
        f"{url}/voice-notes", params={"purpose": "advice"}, content=WEBM,
        headers={**team.h(team.clinician), "content-type": "audio/webm"},
    ).json()  # fmt: skip
    question = client.post(
        f"{url}/voice-notes", content=WEBM,
        headers={**team.h(team.cg), "content-type": "audio/webm"},
    ).json()  # fmt: skip
    clin = team.h(team.clinician)
    # Only the clinician's own advice, uploaded to this consultation, can be the answer.
    wrong = client.post(f"{url}/answer", json={"version": 1, "voice_note_ids": [question["id"]]},
                        headers=clin)  # fmt: skip
    assert wrong.status_code == 422 and wrong.json()["detail"]["code"] == "unknown_voice_note"
    ok = client.post(f"{url}/answer", json={"version": 1, "voice_note_ids": [mine["id"]]},
                     headers=clin)  # fmt: skip
    assert ok.status_code == 200, ok.text
    assert ok.json()["status"] == "answered"
    assert ok.json()["outcome"]["advice_voice_note_ids"] == [mine["id"]]
    # The caregiver's tablet gets the answer and the advice note's record with the next pull.
    pulled = client.get("/api/v1/sync", headers=team.h(team.cg)).json()
    consult = next(c for c in pulled["consults"] if c["id"] == asked["id"])
    assert consult["status"] == "answered"
    advice = [v for v in pulled["voice_notes"] if v["purpose"] == "advice"]
    assert [v["id"] for v in advice] == [mine["id"]] and advice[0]["stored"] is True
    play = client.get(f"{url}/voice-notes/{mine['id']}", headers={**team.h(team.cg),
                                                                   "Range": "bytes=0-3"})  # fmt: skip
    assert play.status_code == 206 and play.content == WEBM[:4]


def test_overdue_by_urgency_for_the_care_manager(
    client: TestClient, session: Session, team: Team
) -> None:
    urgent = _ask(client, team, "urgent")
    soon = _ask(client, team, "soon")
    routine = _ask(client, team, "routine")
    _age(session, urgent["id"], 3)  # past 2 h
    _age(session, soon["id"], 3)  # within 24 h
    _age(session, routine["id"], 80)  # past 72 h
    cm = team.h(team.cm)
    late = client.get("/api/v1/consults", params={"overdue": "true"}, headers=cm)
    assert late.status_code == 200, late.text
    assert {c["id"] for c in late.json()} == {urgent["id"], routine["id"]}
    assert all(c["overdue"] for c in late.json())
    listed = {c["id"]: c for c in client.get("/api/v1/consults", headers=cm).json()}
    assert listed[soon["id"]]["overdue"] is False and listed[soon["id"]]["answer_due_by"]
    on_time = client.get("/api/v1/consults", params={"overdue": "false"}, headers=cm).json()
    assert [c["id"] for c in on_time] == [soon["id"]]
    # An answered question is no longer overdue.
    answered = client.post(
        f"/api/v1/consults/{urgent['id']}/answer", json={"version": 1, "advice": "วัดซ้ำ"},
        headers=team.h(team.clinician),
    )  # fmt: skip
    assert answered.status_code == 200 and answered.json()["overdue"] is False
    late = client.get("/api/v1/consults", params={"overdue": "true"}, headers=cm).json()
    assert [c["id"] for c in late] == [routine["id"]]


def test_is_overdue_boundaries() -> None:
    now = datetime(2026, 1, 1, 12, tzinfo=UTC)
    row = Consult(elder_id=uuid.uuid4(), question="?", urgency=ConsultUrgency.URGENT,
                  created_at=now - timedelta(hours=2))  # fmt: skip
    assert not is_overdue(row, now)
    assert is_overdue(row, now + timedelta(seconds=1))
    row.status = ConsultStatus.CLOSED
    assert not is_overdue(row, now + timedelta(days=9))


def test_roles_and_assignment_are_checked(client: TestClient, session: Session, team: Team) -> None:
    asked = _ask(client, team)
    url = f"/api/v1/consults/{asked['id']}"
    # Another caregiver's elder: the same answer as "no such consultation".
    assert client.get(f"{url}/case", headers=team.h(team.other_cg)).status_code == 404
    assert client.get(f"{url}/case", headers=team.h(team.committee)).status_code == 403
    assert client.get(f"{url}/case", headers=team.h(team.vol)).status_code == 403
    assert client.get("/api/v1/consults/queue", headers=team.h(team.vol)).status_code == 403
    other_queue = client.get("/api/v1/consults/queue", headers=team.h(team.other_cg)).json()
    assert other_queue == []
    # Only a clinician answers, and only a clinician's voice is advice.
    assert client.post(f"{url}/answer", json={"version": 1, "advice": "x"},
                       headers=team.h(team.cg)).status_code == 403  # fmt: skip
    spoken = client.post(
        f"{url}/voice-notes", params={"purpose": "advice"}, content=WEBM,
        headers={**team.h(team.cg), "content-type": "audio/webm"},
    )  # fmt: skip
    assert spoken.status_code == 403
    refused = session.exec(
        select(AuditEntry).where(col(AuditEntry.actor_id) == team.other_cg.id)
    ).all()
    assert [r for r in refused if r.action == "read" and r.entity == "consult"] == []


def test_opening_takes_a_question_into_review_once(
    client: TestClient, session: Session, team: Team, make_user: Any
) -> None:
    asked = _ask(client, team)
    url = f"/api/v1/consults/{asked['id']}"
    first = client.post(f"{url}/review", headers=team.h(team.clinician))
    assert first.status_code == 200, first.text
    assert first.json()["status"] == "in_review" and first.json()["version"] == 2
    # Opened again, or by a second clinician: nothing changes, nothing new to pull or audit.
    second_clinician = make_user(Role.CLINICIAN, "clinician-2")
    for who in (team.clinician, second_clinician):
        again = client.post(f"{url}/review", headers=team.h(who))
        assert again.status_code == 200 and again.json()["version"] == 2
    row = session.get(Consult, uuid.UUID(asked["id"]), populate_existing=True)
    assert row is not None and row.status == ConsultStatus.IN_REVIEW
    assert row.clinician_id == team.clinician.id
    changes = session.exec(
        select(AuditEntry).where(
            AuditEntry.entity == "consult", AuditEntry.action == "update",
            AuditEntry.entity_id == asked["id"],
        )
    ).all()  # fmt: skip
    assert [(c.actor_id, c.fields) for c in changes] == [
        (team.clinician.id, ["clinician_id", "status"])
    ]
    seen = client.get(url, headers=team.h(team.cg)).json()
    assert seen["status"] == "in_review"
    answered = client.post(f"{url}/answer", json={"version": 2, "advice": "วัดซ้ำพรุ่งนี้"},
                           headers=team.h(team.clinician))  # fmt: skip
    assert answered.status_code == 200, answered.text
    # An answered question does not go back into review.
    late = client.post(f"{url}/review", headers=team.h(second_clinician))
    assert late.status_code == 409
