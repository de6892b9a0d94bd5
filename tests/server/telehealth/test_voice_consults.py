"""Voice notes (type checks, size limit, ranged playback, audit) and telehealth consultations."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlmodel import Session, select

from server.audit.models import AuditEntry
from server.care.models import Visit
from server.observations.models import TriageOverrides
from server.telehealth.voice import parse_range, sniff
from tests.support.care_team import Team, plan_for

WEBM = b"\x1a\x45\xdf\xa3" + bytes(range(256)) * 8
WAV = b"RIFF\x24\x00\x00\x00WAVEfmt " + b"\x00" * 100


def visit_of(client: TestClient, session: Session, team: Team) -> Visit:
    plan_for(client, team, team.elder)
    return session.exec(
        select(Visit).where(Visit.elder_id == team.elder.id, Visit.role == "caregiver")
    ).one()


@pytest.mark.parametrize("in_database", [False, True])
def test_upload_and_ranged_playback(
    client: TestClient, session: Session, app: FastAPI, team: Team, in_database: bool
) -> None:
    app.state.settings.voice_in_database = in_database
    visit = visit_of(client, session, team)
    url = f"/api/v1/visits/{visit.id}/voice-notes"
    note_id = str(uuid.uuid4())
    headers = {**team.h(team.cg), "content-type": "audio/webm;codecs=opus"}
    up = client.post(
        url, params={"id": note_id, "purpose": "report"}, content=WEBM, headers=headers
    )
    assert up.status_code == 201, up.text
    assert up.json()["size"] == len(WEBM) and up.json()["stored"] is True
    again = client.post(url, params={"id": note_id}, content=WEBM, headers=headers)
    assert again.status_code == 200 and again.json()["created"] is False
    files = list((app.state.settings.data_dir / "voice").glob("*"))
    assert [f.name for f in files] == ([] if in_database else [note_id])

    play = f"{url}/{note_id}"
    whole = client.get(play, headers=team.h(team.cm))
    assert whole.status_code == 200 and whole.content == WEBM
    assert whole.headers["accept-ranges"] == "bytes"
    part = client.get(play, headers={**team.h(team.cm), "Range": "bytes=4-11"})
    assert part.status_code == 206 and part.content == WEBM[4:12]
    assert part.headers["content-range"] == f"bytes 4-11/{len(WEBM)}"
    tail = client.get(play, headers={**team.h(team.cm), "Range": "bytes=-5"})
    assert tail.status_code == 206 and tail.content == WEBM[-5:]
    beyond = client.get(play, headers={**team.h(team.cm), "Range": f"bytes={len(WEBM)}-"})
    assert beyond.status_code == 416
    assert beyond.headers["content-range"] == f"bytes */{len(WEBM)}"
    reads = session.exec(select(AuditEntry).where(AuditEntry.entity == "voice_note")).all()
    # Every request for the audio is logged, even the one refused for its range.
    assert sorted(a.action for a in reads) == ["create", "read", "read", "read", "read"]
    # Another caregiver cannot hear it.
    assert client.get(play, headers=team.h(team.other_cg)).status_code == 404


def test_voice_type_and_size_are_checked(client: TestClient, session: Session, team: Team) -> None:
    visit = visit_of(client, session, team)
    url = f"/api/v1/visits/{visit.id}/voice-notes"
    h = team.h(team.cg)
    wrong = client.post(url, content=WAV, headers={**h, "content-type": "audio/webm"})
    assert wrong.status_code == 415 and wrong.json()["detail"]["code"] == "audio_type_mismatch"
    text = client.post(url, content=b"hello", headers={**h, "content-type": "text/plain"})
    assert text.status_code == 415
    empty = client.post(url, content=b"", headers={**h, "content-type": "audio/wav"})
    assert empty.status_code == 422
    big = client.post(url, content=WEBM * 40, headers={**h, "content-type": "audio/webm"})
    assert big.status_code == 413
    ok = client.post(url, content=WAV, headers={**h, "content-type": "audio/x-wav"})
    assert ok.status_code == 201 and ok.json()["content_type"] == "audio/wav"
    leftovers = [p for p in (client.app.state.settings.data_dir / "voice").iterdir()]  # type: ignore[attr-defined]
    assert [p.name for p in leftovers] == [ok.json()["id"]]


def test_metadata_by_sync_then_audio_upload(
    client: TestClient, session: Session, team: Team
) -> None:
    visit = visit_of(client, session, team)
    note_id = str(uuid.uuid4())
    record = {"id": note_id, "type": "voice_note", "data": {
        "visit_id": str(visit.id), "content_type": "audio/ogg", "purpose": "report",
        "recorded_at": datetime.now(UTC).isoformat(), "duration_s": 12.5}}  # fmt: skip
    synced = client.post("/api/v1/sync", json={"records": [record]}, headers=team.h(team.cg))
    assert synced.json()["results"][0]["detail"] == {"uploaded": False}
    play = f"/api/v1/visits/{visit.id}/voice-notes/{note_id}"
    assert client.get(play, headers=team.h(team.cg)).status_code == 409
    ogg = b"OggS" + b"\x00" * 60
    up = client.post(
        f"/api/v1/visits/{visit.id}/voice-notes", params={"id": note_id}, content=ogg,
        headers={**team.h(team.cg), "content-type": "audio/ogg"},
    )  # fmt: skip
    assert up.status_code == 201, up.text
    assert up.json()["duration_s"] == 12.5 and up.json()["purpose"] == "report"
    assert client.get(play, headers=team.h(team.cg)).content == ogg


def test_sniff_and_range_parsing() -> None:
    assert sniff(b"ID3\x04") == "audio/mpeg"
    assert sniff(b"\xff\xfb\x90\x00") == "audio/mpeg"
    assert sniff(b"\x00\x00\x00\x20ftypM4A ") == "audio/mp4"
    assert sniff(b"GIF89a") is None
    assert parse_range("bytes=0-", 10) == (0, 9)
    assert parse_range("bytes=5-100", 10) == (5, 9)
    assert parse_range("bytes=0-1,4-5", 10) is None
    with pytest.raises(Exception):
        parse_range("bytes=9-3", 10)


def test_consultation_lifecycle(client: TestClient, session: Session, team: Team) -> None:
    plan = plan_for(client, team, team.elder)
    obs_id = str(uuid.uuid4())
    reading = client.post(
        f"/api/v1/elders/{team.elder.id}/observations",
        json={"id": obs_id, "observed_at": datetime.now(UTC).isoformat(),
              "readings": [{"code": "glucose", "value": 260}]},
        headers=team.h(team.cg),
    )  # fmt: skip
    assert reading.status_code == 201
    routine = client.post(
        "/api/v1/consults", json={"elder_id": str(team.elder.id), "question": "ทั่วไป"},
        headers=team.h(team.cg),
    ).json()  # fmt: skip
    urgent = client.post(
        "/api/v1/consults",
        json={"elder_id": str(team.elder.id), "question": "น้ำตาลสูง ควรทำอย่างไร",
              "urgency": "urgent", "observation_ids": [obs_id]},
        headers=team.h(team.cg),
    ).json()  # fmt: skip
    foreign = client.post(
        "/api/v1/consults",
        json={"elder_id": str(team.elder.id), "question": "?", "observation_ids": [str(uuid.uuid4())]},
        headers=team.h(team.cg),
    )  # fmt: skip
    assert foreign.status_code == 422
    queue = client.get("/api/v1/consults", headers=team.h(team.clinician)).json()
    assert [c["id"] for c in queue] == [urgent["id"], routine["id"]]
    url = f"/api/v1/consults/{urgent['id']}"
    assert client.post(f"{url}/review", headers=team.h(team.cg)).status_code == 403
    review = client.post(f"{url}/review", headers=team.h(team.clinician))
    assert review.json()["status"] == "in_review"
    voice = client.post(
        f"{url}/voice-notes", params={"purpose": "advice"}, content=WEBM,
        headers={**team.h(team.clinician), "content-type": "audio/webm"},
    )  # fmt: skip
    assert voice.status_code == 201, voice.text
    answer = client.post(
        f"{url}/answer",
        json={"version": review.json()["version"], "advice": "งดหวาน วัดซ้ำพรุ่งนี้",
              "targets": {"glucose_target": {"low": 80, "high": 250}},
              "follow_up": "urgent_visit"},
        headers=team.h(team.clinician),
    )  # fmt: skip
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["status"] == "answered" and body["voice_note_ids"] == [voice.json()["id"]]
    urgent_visit = session.get(Visit, uuid.UUID(body["outcome"]["urgent_visit_id"]))
    assert urgent_visit is not None and urgent_visit.reason == "urgent"
    overrides = session.get(TriageOverrides, team.elder.id)
    assert overrides is not None and overrides.overrides["glucose_target"]["high"] == 250
    plan_now = client.get(f"/api/v1/care-plans/{plan['id']}", headers=team.h(team.cm)).json()
    assert plan_now["version"] == 2 and plan_now["targets"]["glucose_target"]["low"] == 80
    again = client.post(f"{url}/answer", json={"version": body["version"], "advice": "x"},
                        headers=team.h(team.clinician))  # fmt: skip
    assert again.status_code == 409
    closed = client.post(f"{url}/close", headers=team.h(team.cg))
    assert closed.json()["status"] == "closed"
    assert client.get(url, headers=team.h(team.other_cg)).status_code == 404
    assert client.get(url, headers=team.h(team.committee)).status_code == 403
