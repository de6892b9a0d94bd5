"""A care team and two elders with different caregivers, shared by the care, sync and telehealth tests."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session

from server.auth.models import Role, User
from server.config import Settings
from server.elders.models import Elder
from tests.server.conftest import TEST_SECRET
from tests.support.records import make_elder


@pytest.fixture
def settings(db_url: str, tmp_path: Path) -> Settings:
    return Settings(
        env="test", database_url=db_url, secret_key=TEST_SECRET, data_dir=tmp_path / "data",
        voice_max_bytes=64 * 1024,
    )  # fmt: skip


@dataclass
class Team:
    cm: User
    cg: User
    other_cg: User
    vol: User
    clinician: User
    committee: User
    elder: Elder  # assigned to cg and vol
    other: Elder  # assigned to other_cg
    h: Callable[[User], dict[str, str]]


@pytest.fixture
def team(
    session: Session,
    users: dict[Role, User],
    make_user: Callable[..., User],
    auth: Callable[[User], dict[str, str]],
) -> Team:
    other_cg = make_user(Role.CAREGIVER, "caregiver-2")
    elder = make_elder(
        session, caregiver_id=users[Role.CAREGIVER].id, volunteer_id=users[Role.VOLUNTEER].id,
        care_manager_id=users[Role.CARE_MANAGER].id, latitude=13.28, longitude=100.92,
    )  # fmt: skip
    other = make_elder(session, caregiver_id=other_cg.id, first_name="สมชาย")
    return Team(
        cm=users[Role.CARE_MANAGER], cg=users[Role.CAREGIVER], other_cg=other_cg,
        vol=users[Role.VOLUNTEER], clinician=users[Role.CLINICIAN],
        committee=users[Role.COMMITTEE], elder=elder, other=other, h=auth,
    )  # fmt: skip


def plan_for(client: TestClient, team: Team, elder: Elder, **extra: object) -> dict[str, object]:
    body = {
        "elder_id": str(elder.id),
        "goals": ["ความดันโลหิตอยู่ในเป้าหมาย"],
        "problems": ["ความดันโลหิตสูง"],
        "frequencies": [
            {"role": "caregiver", "every_days": 7},
            {"role": "clinician", "every_days": 30},
        ],
        "measurements": ["systolic", "diastolic", "pulse", "spo2", "adl"],
        "checklist": ["ยา", "อาหาร"],
        "adl_every_days": 90,
        **extra,
    }
    response = client.post("/api/v1/care-plans", json=body, headers=team.h(team.cm))
    assert response.status_code == 201, response.text
    result: dict[str, object] = response.json()
    return result
