"""The ranking as the committee reads it: one filtered, sorted page of a round's applications."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session, col, func, or_, select

from server.audit import service as audit
from server.auth.models import User
from server.eligibility import ranking, rounds, scoring
from server.eligibility import service as applications
from server.eligibility.models import (
    Application,
    Decision,
)
from server.eligibility.schemas import (
    RankingItem,
    RankingPage,
)


@dataclass(frozen=True)
class RankingFilter:
    """What the committee narrowed the ranking to; None leaves a criterion out."""

    q: str | None = None  # application number or name, in part
    community: str | None = None
    target: str | None = None  # a rubric target the application meets
    quota: bool | None = None  # within the round's devices
    eligible: bool | None = None
    vote: str | None = None  # "undecided" (by the reader), or a decision by anyone


def _filtered(query: Any, filters: RankingFilter, *, user: User) -> Any:
    if filters.q:
        like = f"%{filters.q.strip()}%"
        query = query.where(
            or_(
                col(Application.number).ilike(like),
                col(Application.first_name).ilike(like),
                col(Application.last_name).ilike(like),
            )
        )
    if filters.community:
        query = query.where(Application.community == filters.community)
    if filters.quota is not None:
        query = query.where(Application.within_quota == filters.quota)
    if filters.eligible is not None:
        query = query.where(Application.eligible == filters.eligible)
    if filters.target:
        # targets_met is a short JSON list of keys; a quoted LIKE is exact and portable.
        pattern = f'%"{filters.target}"%'
        query = query.where(sa.cast(Application.targets_met, sa.String).like(pattern))
    mine = select(Decision.application_id).where(Decision.member_id == user.id)
    if filters.vote == "undecided":
        query = query.where(col(Application.id).not_in(mine))
    elif filters.vote in ("approve", "reject", "defer"):
        query = query.where(
            col(Application.id).in_(
                select(Decision.application_id).where(Decision.decision == filters.vote)
            )
        )
    return query


def ranking_page(
    session: Session,
    *,
    user: User,
    round_id: uuid.UUID,
    filters: RankingFilter = RankingFilter(),
    page: int = 1,
    page_size: int = 50,
    request_id: str | None = None,
) -> RankingPage:
    """One page of the ranking, filtered in the database (5,000 applicants stay quick)."""
    round_ = rounds.get_round(session, round_id)
    query = _filtered(
        select(Application).where(Application.round_id == round_id), filters, user=user
    )
    total = session.exec(select(func.count()).select_from(query.subquery())).one()
    rows = list(
        session.exec(
            query.order_by(
                col(Application.rank).is_(None), col(Application.rank), col(Application.number)
            )
            .offset((page - 1) * page_size)
            .limit(page_size)
        ).all()
    )
    ids = [a.id for a in rows]
    tallies: dict[uuid.UUID, dict[str, int]] = {i: {} for i in ids}
    my_votes: dict[uuid.UUID, ranking.Vote] = {}
    if ids:
        for app_id, decision, member in session.execute(
            sa.select(
                col(Decision.application_id), col(Decision.decision), col(Decision.member_id)
            ).where(col(Decision.application_id).in_(ids))
        ).all():
            tallies[app_id][decision] = tallies[app_id].get(decision, 0) + 1
            if member == user.id:
                my_votes[app_id] = decision
    cutoff = session.exec(
        select(func.max(Application.rank)).where(
            Application.round_id == round_id, col(Application.within_quota).is_(True)
        )
    ).one()
    run = rounds.latest_ranking(session, round_id)
    items = [
        RankingItem(
            application_id=a.id,
            number=a.number,
            name=applications.full_name(a),
            community=a.community,
            rank=a.rank,
            total=scoring.format_centi(a.total_centi),
            targets_met=a.targets_met,
            eligible=a.eligible,
            adl=a.adl,
            within_quota=a.within_quota,
            decided_by=a.decided_by,
            outcome=a.outcome,
            votes=tallies[a.id],
            my_vote=my_votes.get(a.id),
            possible_duplicate_of=a.possible_duplicate_of,
        )
        for a in rows
    ]
    audit.record_reads(
        session, actor=user, entity="eligibility_ranking", elder_ids=[a.elder_id for a in rows],
        fields=["score", "targets_met", "adl"], request_id=request_id,
    )  # fmt: skip
    return RankingPage(
        items=items, total=total, page=page, page_size=page_size, devices=round_.devices,
        cutoff_rank=cutoff, seed=round_.seed, inputs_digest=run.inputs_digest if run else None,
        computed_at=run.computed_at if run else None,
    )  # fmt: skip


def communities(session: Session, round_id: uuid.UUID) -> list[str]:
    return list(
        session.exec(
            select(Application.community)
            .where(Application.round_id == round_id)
            .distinct()
            .order_by(col(Application.community))
        ).all()
    )
