"""Voice notes that lie about their type: refused with a reason, nothing kept on disk."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session, select

from server.care.models import Visit, VoiceNote
from server.telehealth.voice import sniff
from tests.support.care_team import Team, plan_for

HEIC = b"\x00\x00\x00\x18ftypheic" + b"\x00" * 64
PDF = b"%PDF-1.7\n" + b"\x00" * 64
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64
HTML = b"<html><script>alert(1)</script></html>"
ZIP = b"PK\x03\x04" + b"\x00" * 64
M4A = b"\x00\x00\x00\x20ftypM4A " + b"\x00" * 64


@pytest.mark.parametrize(
    ("declared", "body"),
    [
        ("audio/mp4", HEIC),
        ("audio/webm", PDF),
        ("audio/ogg", PNG),
        ("audio/wav", HTML),
        ("audio/mpeg", ZIP),
        ("audio/webm", M4A),
        ("application/pdf", PDF),
        ("image/png", PNG),
        ("", M4A),
    ],
)
def test_a_voice_note_that_lies_about_its_type_is_refused(
    client: TestClient, session: Session, team: Team, declared: str, body: bytes
) -> None:
    plan_for(client, team, team.elder)
    visit = session.exec(
        select(Visit).where(Visit.elder_id == team.elder.id, Visit.role == "caregiver")
    ).one()
    headers = {**team.h(team.cg), "content-type": declared}
    response = client.post(f"/api/v1/visits/{visit.id}/voice-notes", content=body, headers=headers)
    assert response.status_code == 415, response.text
    detail = response.json()["detail"]
    assert detail["code"] in ("audio_type_mismatch", "unsupported_audio") and detail["message"]
    session.expire_all()
    assert session.exec(select(VoiceNote)).all() == []
    folder = client.app.state.settings.data_dir / "voice"  # type: ignore[attr-defined]
    assert not folder.exists() or list(folder.iterdir()) == []


def test_sniffing_tells_audio_from_images_in_iso_media_files() -> None:
    assert sniff(M4A) == "audio/mp4"
    assert sniff(HEIC) is None
    assert sniff(b"\x00\x00\x00\x1cftypavif") is None
