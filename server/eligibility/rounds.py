"""Eligibility rounds: creating and editing them, moving them through their states, and
ranking a closed round (the arithmetic is in `ranking`, pure)."""

from __future__ import annotations

import secrets
import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session, col, func, select

from server.audit import service as audit
from server.auth.models import Role, User
from server.common.time import utcnow
from server.db import updated_one
from server.eligibility import ranking, rubrics
from server.eligibility.models import (
    Application,
    RankingRun,
    RoundStatus,
    RubricVersion,
)
from server.eligibility.models import Round as RoundRow
from server.eligibility.schemas import (
    RoundCreate,
    RoundOut,
    RoundUpdate,
)
from server.errors import ApiError

# Fields a round keeps editable after registration opens (the rubric and code never change).
EDITABLE_AFTER_OPEN = frozenset(
    {"title", "issuer", "devices", "closes_at", "appeal_days", "chair_id"}
)


def get_round(session: Session, round_id: uuid.UUID, *, for_update: bool = False) -> RoundRow:
    query = select(RoundRow).where(RoundRow.id == round_id)
    if for_update:
        query = query.with_for_update()
    found = session.exec(query).first()
    if found is None:
        raise ApiError(404, "not_found", "common.not_found")
    return found


def round_out(session: Session, round_: RoundRow) -> RoundOut:
    rubric = rubrics.get_rubric(session, round_.rubric_id)
    counts = session.execute(
        sa.select(func.count(), func.coalesce(func.sum(sa.cast(col(Application.eligible), sa.Integer)), 0))
        .select_from(Application)
        .where(col(Application.round_id) == round_.id)
    ).one()  # fmt: skip
    return RoundOut(
        **round_.model_dump(
            exclude={"created_by", "created_at", "updated_at", "next_number", "approved_by"}
        ),
        rubric_hash=rubric.content_hash,
        applications=int(counts[0]),
        eligible=int(counts[1]),
    )


def list_rounds(session: Session) -> list[RoundRow]:
    return list(session.exec(select(RoundRow).order_by(col(RoundRow.opens_at).desc())).all())


def _check_chair(session: Session, chair_id: uuid.UUID | None) -> None:
    if chair_id is None:
        return
    chair = session.get(User, chair_id)
    if chair is None or chair.role != Role.COMMITTEE or not chair.active:
        raise ApiError(422, "invalid_chair", "eligibility.invalid_chair", field="chair_id")


def _check_window(opens_at: datetime, closes_at: datetime) -> None:
    if closes_at <= opens_at:
        raise ApiError(422, "invalid_window", "eligibility.invalid_window", field="closes_at")


def create_round(
    session: Session, *, user: User, data: RoundCreate, request_id: str | None
) -> RoundRow:
    rubrics.get_rubric(session, data.rubric_id)
    _check_chair(session, data.chair_id)
    _check_window(data.opens_at, data.closes_at)
    if session.exec(select(RoundRow.id).where(RoundRow.code == data.code)).first():
        raise ApiError(409, "duplicate_code", "eligibility.duplicate_code", field="code")
    round_ = RoundRow(**data.model_dump(), created_by=user.id)
    session.add(round_)
    session.flush()
    audit.record(
        session, actor=user, action="create", entity="eligibility_round", entity_id=round_.id,
        fields=data.model_dump(exclude_unset=True).keys(), request_id=request_id,
    )  # fmt: skip
    session.flush()
    return round_


def update_round(
    session: Session, *, user: User, round_id: uuid.UUID, data: RoundUpdate, request_id: str | None
) -> RoundRow:
    round_ = get_round(session, round_id)
    changes = data.model_dump(exclude_unset=True, exclude={"version"})
    if round_.status in (RoundStatus.SCREENED, RoundStatus.APPROVED, RoundStatus.PUBLISHED):
        raise ApiError(409, "round_locked", "eligibility.round_locked", status=round_.status)
    if round_.status != RoundStatus.DRAFT:
        refused = sorted(set(changes) - EDITABLE_AFTER_OPEN)
        if refused:
            raise ApiError(
                409, "field_locked", "eligibility.field_locked", field=refused[0],
                extra={"fields": refused},
            )  # fmt: skip
    if data.version != round_.version:
        raise ApiError(409, "stale_version", "eligibility.stale_version", field="version")
    if "rubric_id" in changes:
        rubrics.get_rubric(session, changes["rubric_id"])
    if "chair_id" in changes:
        _check_chair(session, changes["chair_id"])
    _check_window(
        changes.get("opens_at", round_.opens_at), changes.get("closes_at", round_.closes_at)
    )
    if not updated_one(
        session,
        sa.update(RoundRow)
        .where(col(RoundRow.id) == round_id, col(RoundRow.version) == data.version)
        .values(**changes, version=data.version + 1, updated_at=utcnow()),
    ):
        raise ApiError(409, "stale_version", "eligibility.stale_version", field="version")
    audit.record(
        session, actor=user, action="update", entity="eligibility_round", entity_id=round_id,
        fields=changes.keys(), request_id=request_id,
        detail={k: str(v) for k, v in changes.items()},
    )  # fmt: skip
    session.flush()
    session.refresh(round_)
    if "devices" in changes and round_.status == RoundStatus.SCORED:
        record_ranking(session, round_=round_, user=user)
    session.flush()
    return round_


def _transition(
    session: Session,
    *,
    user: User,
    round_: RoundRow,
    expected: Sequence[RoundStatus],
    to: RoundStatus,
    request_id: str | None,
    detail: dict[str, Any] | None = None,
    **values: Any,
) -> None:
    """Moves the round on only from an expected status; a concurrent move makes this one fail."""
    if round_.status not in expected:
        raise ApiError(
            409, "wrong_status", "eligibility.wrong_status", status=round_.status,
            extra={"status": round_.status, "expected": [s.value for s in expected]},
        )  # fmt: skip
    if not updated_one(
        session,
        sa.update(RoundRow)
        .where(col(RoundRow.id) == round_.id, col(RoundRow.status) == round_.status)
        .values(status=to, version=RoundRow.version + 1, updated_at=utcnow(), **values),
    ):
        raise ApiError(409, "wrong_status", "eligibility.wrong_status", status="?")
    audit.record(
        session, actor=user, action=to.value, entity="eligibility_round", entity_id=round_.id,
        request_id=request_id, detail={"from": round_.status.value, **(detail or {})},
    )  # fmt: skip
    session.flush()
    session.refresh(round_)


def open_round(
    session: Session, *, user: User, round_id: uuid.UUID, request_id: str | None
) -> RoundRow:
    round_ = get_round(session, round_id)
    _transition(
        session, user=user, round_=round_, expected=[RoundStatus.DRAFT], to=RoundStatus.OPEN,
        request_id=request_id,
    )  # fmt: skip
    # From now on applications are scored with this version: it can never change again.
    session.execute(
        sa.update(RubricVersion)
        .where(col(RubricVersion.id) == round_.rubric_id, col(RubricVersion.locked_at).is_(None))
        .values(locked_at=utcnow())
    )
    session.flush()
    return round_


def close_round(
    session: Session, *, user: User, round_id: uuid.UUID, request_id: str | None
) -> RoundRow:
    round_ = get_round(session, round_id)
    _transition(
        session, user=user, round_=round_, expected=[RoundStatus.OPEN], to=RoundStatus.CLOSED,
        request_id=request_id,
    )  # fmt: skip
    session.flush()
    return round_


def rank_round(
    session: Session,
    *,
    user: User,
    round_id: uuid.UUID,
    seed: str | None,
    request_id: str | None,
) -> RankingRun:
    """Ranks every application. The seed is fixed the first time and reused after."""
    round_ = get_round(session, round_id, for_update=True)
    if round_.status not in (RoundStatus.CLOSED, RoundStatus.SCORED):
        raise ApiError(
            409, "wrong_status", "eligibility.wrong_status", status=round_.status,
            extra={"status": round_.status, "expected": ["closed", "scored"]},
        )  # fmt: skip
    if round_.seed is not None and seed is not None and seed != round_.seed:
        raise ApiError(409, "seed_fixed", "eligibility.seed_fixed", field="seed")
    if round_.seed is None:
        round_.seed = seed or secrets.token_hex(8)
        session.add(round_)
    run = record_ranking(session, round_=round_, user=user)
    if round_.status == RoundStatus.CLOSED:
        _transition(
            session, user=user, round_=round_, expected=[RoundStatus.CLOSED],
            to=RoundStatus.SCORED, request_id=request_id,
            detail={"seed": round_.seed, "inputs_digest": run.inputs_digest},
        )  # fmt: skip
    else:
        audit.record(
            session, actor=user, action="rank", entity="eligibility_round", entity_id=round_.id,
            request_id=request_id, detail={"seed": round_.seed, "inputs_digest": run.inputs_digest},
        )  # fmt: skip
    session.flush()
    return run


def rank_inputs(session: Session, round_id: uuid.UUID) -> list[ranking.RankInput]:
    rows = session.execute(
        sa.select(
            col(Application.id), col(Application.number), col(Application.total_centi),
            col(Application.targets_count), col(Application.eligible), col(Application.adl),
            col(Application.submitted_at),
        ).where(col(Application.round_id) == round_id)
    ).all()  # fmt: skip
    return [
        ranking.RankInput(
            application_id=str(r[0]),
            number=r[1],
            total_centi=r[2],
            targets_met=r[3],
            eligible=r[4],
            adl=r[5],
            submitted_at=r[6],
        )
        for r in rows
    ]


def record_ranking(session: Session, *, round_: RoundRow, user: User | None) -> RankingRun:
    assert round_.seed is not None
    rubric = rubrics.get_rubric(session, round_.rubric_id)
    inputs = rank_inputs(session, round_.id)
    ranked = ranking.rank(inputs, devices=round_.devices, seed=round_.seed)
    if ranked:
        session.execute(
            sa.update(Application),
            [
                {
                    "id": uuid.UUID(r.entry.application_id),
                    "rank": r.rank,
                    "within_quota": r.within_quota,
                    "decided_by": r.decided_by,
                }
                for r in ranked
            ],
        )
    run = RankingRun(
        round_id=round_.id,
        seed=round_.seed,
        rubric_hash=rubric.content_hash,
        inputs_digest=ranking.inputs_digest(inputs, devices=round_.devices, seed=round_.seed),
        devices=round_.devices,
        order=[r.entry.number for r in ranked],
        computed_by=user.id if user else None,
    )
    session.add(run)
    session.flush()
    return run


def latest_ranking(session: Session, round_id: uuid.UUID) -> RankingRun | None:
    return session.exec(
        select(RankingRun)
        .where(RankingRun.round_id == round_id)
        .order_by(col(RankingRun.computed_at).desc())
        .limit(1)
    ).first()
