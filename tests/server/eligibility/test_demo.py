from __future__ import annotations

from sqlmodel import Session, col, select

from server.config import Settings
from server.eligibility.demo import DEMO_CODE, seed_demo_round
from server.eligibility.models import Application, Round, RoundStatus
from server.seed import seed_demo


def test_demo_seed_adds_a_ranked_round_once(session: Session, settings: Settings) -> None:
    seed_demo(session, settings=settings)
    round_ = session.exec(select(Round).where(Round.code == DEMO_CODE)).one()
    assert round_.status == RoundStatus.SCORED and round_.seed == "demo-2570"
    ranks = session.exec(
        select(Application.rank)
        .where(Application.round_id == round_.id)
        .order_by(col(Application.rank))
    ).all()
    assert list(ranks) == list(range(1, 41))
    assert seed_demo_round(session) is None  # already there
