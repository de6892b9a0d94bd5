"""Only a clinician files a voice note as advice: not by upload, not by sync."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from fastapi.testclient import TestClient
from sqlmodel import Session, select

from server.care.models import VoiceNote, VoicePurpose
from tests.server.telehealth.test_voice_consults import WEBM, visit_of
from tests.support.care_team import Team


def test_a_caregiver_cannot_file_clinician_advice(
    client: TestClient, session: Session, team: Team
) -> None:
    consult = client.post(
        "/api/v1/consults", json={"elder_id": str(team.elder.id), "question": "ความดันสูง"},
        headers=team.h(team.cg),
    ).json()  # fmt: skip
    url = f"/api/v1/consults/{consult['id']}/voice-notes"
    audio = {"content-type": "audio/webm"}
    forged = client.post(url, params={"purpose": "advice"}, content=WEBM,
                         headers={**team.h(team.cg), **audio})  # fmt: skip
    assert forged.status_code == 403 and forged.json()["detail"]["field"] == "purpose"
    question = client.post(url, params={"purpose": "question"}, content=WEBM,
                           headers={**team.h(team.cg), **audio})  # fmt: skip
    assert question.status_code == 201
    advice = client.post(url, params={"purpose": "advice"}, content=WEBM,
                         headers={**team.h(team.clinician), **audio})  # fmt: skip
    assert advice.status_code == 201
    # The offline path (metadata first, by sync) is held to the same rule.
    visit = visit_of(client, session, team)
    record = {"id": str(uuid.uuid4()), "type": "voice_note", "data": {
        "visit_id": str(visit.id), "content_type": "audio/webm", "purpose": "advice",
        "recorded_at": datetime.now(UTC).isoformat()}}  # fmt: skip
    synced = client.post("/api/v1/sync", json={"records": [record]}, headers=team.h(team.cg))
    assert synced.json()["results"][0]["result"] == "rejected"
    session.expire_all()
    advice_notes = session.exec(
        select(VoiceNote).where(VoiceNote.purpose == VoicePurpose.ADVICE)
    ).all()
    assert [n.author_id for n in advice_notes] == [team.clinician.id]
