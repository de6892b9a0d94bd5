"""Builders for eligibility tests: the default rubric, an open round, answers, new applicants."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from sqlmodel import Session

from server.auth.models import Role, User
from server.common.time import utcnow
from server.eligibility import rounds, rubrics
from server.eligibility.models import Round, RubricVersion
from server.eligibility.schemas import RoundCreate
from tests.support.records import thai_id

BASE_ANSWERS: dict[str, Any] = {
    "living": "alone_no_carer", "adl": 8, "falls": 2, "chronic": "multiple",
    "access": "difficult", "income": "welfare_card", "distance_km": 3.5, "emergencies": 1,
}  # fmt: skip


def answers(**overrides: Any) -> dict[str, Any]:
    return {**BASE_ANSWERS, **overrides}


def person(n: int, **overrides: Any) -> dict[str, Any]:
    data = {
        "national_id": thai_id(), "title": "นาง", "first_name": f"สมศรี{n}",
        "last_name": "ใจดี", "birth_date": "1944-02-03", "sex": "female",
        "address": f"{n} หมู่ 2", "community": "ชุมชนบ้านเหมือง",
    }  # fmt: skip
    data.update(overrides)
    return data


@pytest.fixture
def rubric(session: Session) -> RubricVersion:
    rubric = rubrics.ensure_default_rubric(session)
    session.commit()  # services flush; whoever calls them commits
    return rubric


MakeRound = Callable[..., Round]


@pytest.fixture
def make_round(session: Session, users: dict[Role, User], rubric: RubricVersion) -> MakeRound:
    def make(
        *, devices: int = 2, code: str = "R1", chair: User | None = None, open_: bool = True,
        opens_in: timedelta = timedelta(days=-1), lasts: timedelta = timedelta(days=30),
    ) -> Round:  # fmt: skip
        opens = utcnow() + opens_in
        round_ = rounds.create_round(
            session,
            user=users[Role.ADMIN],
            data=RoundCreate(
                title="โครงการติดตั้งปุ่มขอความช่วยเหลือฉุกเฉิน ปีงบประมาณ 2570",
                issuer="เทศบาลเมืองแสนสุข",
                code=code,
                rubric_id=rubric.id,
                devices=devices,
                opens_at=opens,
                closes_at=opens + lasts,
                chair_id=(chair or users[Role.COMMITTEE]).id,
            ),
            request_id=None,
        )
        if open_:
            rounds.open_round(session, user=users[Role.ADMIN], round_id=round_.id, request_id=None)
        session.commit()
        return round_

    return make
