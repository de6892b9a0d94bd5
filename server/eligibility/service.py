"""Rubric versions, rounds, applications and their scoring and ranking.

The arithmetic lives in `scoring` and `ranking` (pure); this module checks who may do what
and when, persists a snapshot around every computation, and writes the audit log.
"""

from __future__ import annotations

import json
import secrets
import uuid
from collections.abc import Mapping, Sequence
from datetime import date, datetime
from functools import lru_cache
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session, col, func, or_, select

from server.audit import service as audit
from server.auth.models import Role, User
from server.common.time import utcnow
from server.elders import service as elders_service
from server.elders.models import Elder, ElderStatus
from server.elders.schemas import ElderCreate
from server.eligibility import identity, ranking, scoring
from server.eligibility.models import (
    Application,
    Decision,
    Note,
    RankingRun,
    RoundStatus,
    RubricVersion,
    ScoreReason,
    ScoreSnapshot,
)
from server.eligibility.models import Round as RoundRow
from server.eligibility.schemas import (
    MANAGERS,
    AnswerValue,
    ApplicationCorrection,
    ApplicationCreate,
    ApplicationOut,
    CriterionScoreOut,
    NewApplicant,
    NoteOut,
    RankingItem,
    RankingPage,
    RoundCreate,
    RoundOut,
    RoundUpdate,
    RubricOut,
    ScoreOut,
    VoteOut,
)
from server.errors import ApiError
from server.i18n import Locale, format_datetime

DEFAULT_RUBRIC = Path(__file__).parent / "default_rubric.json"
# Fields a round keeps editable after registration opens (the rubric and code never change).
EDITABLE_AFTER_OPEN = frozenset(
    {"title", "issuer", "devices", "closes_at", "appeal_days", "chair_id"}
)
CORRECTABLE = (RoundStatus.OPEN, RoundStatus.CLOSED, RoundStatus.SCORED)


class LocalTime:
    """A time shown in the reader's language: "{at:th}" / "{at:en}" in the catalogue."""

    def __init__(self, value: datetime) -> None:
        self.value = value

    def __format__(self, spec: str) -> str:
        locale: Locale = "en" if spec == "en" else "th"
        return format_datetime(self.value, locale)


# --- rubrics -------------------------------------------------------------------------------


def default_rubric_data() -> tuple[str, dict[str, Any]]:
    data: dict[str, Any] = json.loads(DEFAULT_RUBRIC.read_text(encoding="utf-8"))
    name = str(data.pop("name"))
    return name, data


@lru_cache(maxsize=64)
def _parse_canonical(content_json: str) -> scoring.Rubric:
    return scoring.parse_rubric(json.loads(content_json))


def parsed(rubric: RubricVersion) -> scoring.Rubric:
    """The rubric's rules (cached by content: versions never change once used)."""
    return _parse_canonical(json.dumps(rubric.content, sort_keys=True))


def _checked_content(content: Mapping[str, Any]) -> tuple[dict[str, Any], str]:
    try:
        rubric = scoring.parse_rubric(content)
    except scoring.RubricError as exc:
        raise ApiError(
            422, "invalid_rubric", "eligibility.invalid_rubric", field=exc.path,
            problem=exc.message,
        ) from exc  # fmt: skip
    return scoring.canonical(rubric), scoring.rubric_hash(rubric)


def rubric_out(rubric: RubricVersion) -> RubricOut:
    return RubricOut(
        id=rubric.id,
        name=rubric.name,
        content_hash=rubric.content_hash,
        content=rubric.content,
        based_on_id=rubric.based_on_id,
        created_at=rubric.created_at,
        locked=rubric.locked_at is not None,
        locked_at=rubric.locked_at,
        max_total=scoring.format_centi(parsed(rubric).max_total_centi),
    )


def create_rubric(
    session: Session,
    *,
    user: User | None,
    name: str,
    content: Mapping[str, Any],
    based_on_id: uuid.UUID | None = None,
    request_id: str | None = None,
) -> RubricVersion:
    canonical, digest = _checked_content(content)
    if based_on_id is not None and session.get(RubricVersion, based_on_id) is None:
        raise ApiError(422, "unknown_rubric", "eligibility.unknown_rubric", field="based_on_id")
    rubric = RubricVersion(
        name=name, content=canonical, content_hash=digest, based_on_id=based_on_id,
        created_by=user.id if user else None,
    )  # fmt: skip
    session.add(rubric)
    session.flush()
    audit.record(
        session, actor=user, action="create", entity="eligibility_rubric", entity_id=rubric.id,
        request_id=request_id, detail={"hash": digest, "based_on": str(based_on_id or "")},
    )  # fmt: skip
    session.commit()
    return rubric


def update_rubric(
    session: Session,
    *,
    user: User,
    rubric_id: uuid.UUID,
    name: str,
    content: Mapping[str, Any],
    request_id: str | None,
) -> RubricVersion:
    """Only a version no round has opened with can change; otherwise make a new version."""
    rubric = get_rubric(session, rubric_id)
    if rubric.locked_at is not None:
        raise ApiError(409, "rubric_in_use", "eligibility.rubric_in_use", field="rubric_id")
    canonical, digest = _checked_content(content)
    before = rubric.content_hash
    # The WHERE on locked_at: a round opening at this moment wins, the edit is refused.
    result = session.execute(
        sa.update(RubricVersion)
        .where(col(RubricVersion.id) == rubric_id, col(RubricVersion.locked_at).is_(None))
        .values(name=name, content=canonical, content_hash=digest)
    )
    if result.rowcount != 1:  # type: ignore[attr-defined]
        session.rollback()
        raise ApiError(409, "rubric_in_use", "eligibility.rubric_in_use", field="rubric_id")
    audit.record(
        session, actor=user, action="update", entity="eligibility_rubric", entity_id=rubric_id,
        request_id=request_id, detail={"hash_before": before, "hash_after": digest},
    )  # fmt: skip
    session.commit()
    session.refresh(rubric)
    return rubric


def get_rubric(session: Session, rubric_id: uuid.UUID) -> RubricVersion:
    rubric = session.get(RubricVersion, rubric_id)
    if rubric is None:
        raise ApiError(404, "not_found", "common.not_found")
    return rubric


def list_rubrics(session: Session) -> list[RubricVersion]:
    return list(session.exec(select(RubricVersion).order_by(col(RubricVersion.created_at))).all())


def ensure_default_rubric(session: Session, *, user: User | None = None) -> RubricVersion:
    name, content = default_rubric_data()
    _, digest = _checked_content(content)
    found = session.exec(select(RubricVersion).where(RubricVersion.content_hash == digest)).first()
    return found or create_rubric(session, user=user, name=name, content=content)


# --- rounds --------------------------------------------------------------------------------


def get_round(session: Session, round_id: uuid.UUID, *, for_update: bool = False) -> RoundRow:
    query = select(RoundRow).where(RoundRow.id == round_id)
    if for_update:
        query = query.with_for_update()
    found = session.exec(query).first()
    if found is None:
        raise ApiError(404, "not_found", "common.not_found")
    return found


def round_out(session: Session, round_: RoundRow) -> RoundOut:
    rubric = get_rubric(session, round_.rubric_id)
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
    get_rubric(session, data.rubric_id)
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
    session.commit()
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
        get_rubric(session, changes["rubric_id"])
    if "chair_id" in changes:
        _check_chair(session, changes["chair_id"])
    _check_window(
        changes.get("opens_at", round_.opens_at), changes.get("closes_at", round_.closes_at)
    )
    result = session.execute(
        sa.update(RoundRow)
        .where(col(RoundRow.id) == round_id, col(RoundRow.version) == data.version)
        .values(**changes, version=data.version + 1, updated_at=utcnow())
    )
    if result.rowcount != 1:  # type: ignore[attr-defined]
        session.rollback()
        raise ApiError(409, "stale_version", "eligibility.stale_version", field="version")
    audit.record(
        session, actor=user, action="update", entity="eligibility_round", entity_id=round_id,
        fields=changes.keys(), request_id=request_id,
        detail={k: str(v) for k, v in changes.items()},
    )  # fmt: skip
    session.flush()
    session.refresh(round_)
    if "devices" in changes and round_.status == RoundStatus.SCORED:
        _rank(session, round_=round_, user=user)
    session.commit()
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
    result = session.execute(
        sa.update(RoundRow)
        .where(col(RoundRow.id) == round_.id, col(RoundRow.status) == round_.status)
        .values(status=to, version=RoundRow.version + 1, updated_at=utcnow(), **values)
    )
    if result.rowcount != 1:  # type: ignore[attr-defined]
        session.rollback()
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
    session.commit()
    return round_


def close_round(
    session: Session, *, user: User, round_id: uuid.UUID, request_id: str | None
) -> RoundRow:
    round_ = get_round(session, round_id)
    _transition(
        session, user=user, round_=round_, expected=[RoundStatus.OPEN], to=RoundStatus.CLOSED,
        request_id=request_id,
    )  # fmt: skip
    session.commit()
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
    run = _rank(session, round_=round_, user=user)
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
    session.commit()
    return run


def rank_inputs(session: Session, round_id: uuid.UUID) -> list[ranking.RankInput]:
    rows = session.execute(
        sa.select(
            col(Application.id), col(Application.number), col(Application.total_centi),
            col(Application.targets_count), col(Application.eligible), col(Application.adl),
            col(Application.submitted_at),
        ).where(
            col(Application.round_id) == round_id,
            # Held for an identity check: not ranked (so never selected) until confirmed.
            col(Application.identity_check).is_(False),
        )
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


def _rank(session: Session, *, round_: RoundRow, user: User | None) -> RankingRun:
    assert round_.seed is not None
    rubric = get_rubric(session, round_.rubric_id)
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


# --- applications --------------------------------------------------------------------------


def _answer_problems(exc: scoring.AnswerError) -> ApiError:
    first = exc.problems[0]
    return ApiError(
        422, "invalid_answers", "eligibility.invalid_answers", field=f"answers.{first.criterion}",
        extra={"problems": [{"criterion": p.criterion, "code": p.code} for p in exc.problems]},
    )  # fmt: skip


def _with_derived(
    rubric: scoring.Rubric, answers: Mapping[str, AnswerValue], *, birth_date: date, on: date
) -> dict[str, AnswerValue]:
    """Derived answers come from the registry, whatever the form said."""
    out = dict(answers)
    for criterion in rubric.criteria:
        if criterion.derived == "age_from_birth_date":
            out[criterion.key] = elders_service.age_on(birth_date, on)
    return out


def _score(rubric: scoring.Rubric, answers: Mapping[str, AnswerValue]) -> scoring.Score:
    try:
        return scoring.score(rubric, answers)
    except scoring.AnswerError as exc:
        raise _answer_problems(exc) from exc


def _snapshot(
    session: Session,
    *,
    application: Application,
    result: scoring.Score,
    answers: Mapping[str, AnswerValue],
    rubric_hash: str,
    reason: ScoreReason,
    user: User | None,
    note: str | None = None,
) -> ScoreSnapshot:
    sequence = (
        session.exec(
            select(func.coalesce(func.max(ScoreSnapshot.sequence), 0)).where(
                ScoreSnapshot.application_id == application.id
            )
        ).one()
        + 1
    )
    snap = ScoreSnapshot(
        application_id=application.id,
        sequence=sequence,
        reason=reason,
        answers=dict(answers),
        rubric_hash=rubric_hash,
        total_centi=result.total_centi,
        breakdown=[
            {
                "criterion": b.criterion,
                "answer": b.answer,
                "points": b.points,
                "weight_centi": b.weight_centi,
                "weighted_centi": b.weighted_centi,
            }
            for b in result.breakdown
        ],
        targets_met=list(result.targets_met),
        eligible=result.eligible,
        note=note,
        scored_by=user.id if user else None,
    )
    session.add(snap)
    session.flush()
    application.score_id = snap.id
    application.total_centi = result.total_centi
    application.targets_met = list(result.targets_met)
    application.targets_count = len(result.targets_met)
    application.eligible = result.eligible
    application.adl = result.adl
    session.add(application)
    return snap


def _registration_open(round_: RoundRow, now: datetime) -> None:
    if round_.status != RoundStatus.OPEN or not round_.opens_at <= now < round_.closes_at:
        raise ApiError(
            409, "registration_closed", "eligibility.registration_closed",
            opens=LocalTime(round_.opens_at), closes=LocalTime(round_.closes_at),
            extra={"opens_at": round_.opens_at.isoformat(), "closes_at": round_.closes_at.isoformat()},
        )  # fmt: skip


def submit_application(
    session: Session,
    *,
    user: User,
    round_id: uuid.UUID,
    data: ApplicationCreate,
    request_id: str | None,
    now: datetime | None = None,
) -> Application | identity.HeldSubmission:
    now = now or utcnow()
    round_ = get_round(session, round_id)
    _registration_open(round_, now)
    if (data.elder_id is None) == (data.person is None):
        raise ApiError(422, "elder_or_person", "eligibility.elder_or_person", field="elder_id")
    elder: Elder | None = None
    hidden = False
    if data.elder_id is not None:
        elder = elders_service.get_visible(session, user=user, elder_id=data.elder_id)
    else:
        assert data.person is not None
        # The same national ID is the same person: link to the registry entry that exists.
        elder = elders_service.find_by_national_id(session, data.person.national_id)
        # One the submitter may not see is neither shown nor confirmed to them (see identity.py).
        hidden = elder is not None and not elders_service.can_see(user, elder)
    if elder is not None and not hidden:
        existing = session.exec(
            select(Application.number).where(
                Application.round_id == round_id, Application.elder_id == elder.id
            )
        ).first()
        if existing:
            raise ApiError(
                409, "duplicate_application", "eligibility.duplicate_application",
                field="elder_id", number=existing, extra={"number": existing},
            )  # fmt: skip
    person = data.person
    # Who the application names: the registry's record, or only what the submitter typed.
    named: Elder | NewApplicant = elder if elder is not None and not hidden else person  # type: ignore[assignment]
    birth_date, first_name, last_name = named.birth_date, named.first_name, named.last_name
    rubric_row = get_rubric(session, round_.rubric_id)
    rubric = parsed(rubric_row)
    answers = _with_derived(rubric, data.answers, birth_date=birth_date, on=now.date())
    result = _score(rubric, answers)
    assessed_by = data.assessed_by or user.id
    if data.assessed_by is not None and session.get(User, data.assessed_by) is None:
        raise ApiError(422, "unknown_user", "eligibility.unknown_user", field="assessed_by")
    if hidden:
        assert elder is not None and person is not None
        held = identity.held_submission(
            session, user=user, round_=round_, elder=elder, person=person, answers=answers,
            result=result, rubric_hash=rubric_row.content_hash, request_id=request_id, now=now,
            evidence_notes=data.evidence_notes,
        )  # fmt: skip
        if held is not None:
            return held
    similar = session.exec(
        select(Application.number).where(
            Application.round_id == round_id,
            Application.first_name == first_name,
            Application.last_name == last_name,
            Application.birth_date == birth_date,
        )
    ).first()
    if elder is None:
        assert person is not None
        values = person.model_dump()
        values["status"] = ElderStatus.APPLICANT
        if user.role == Role.VOLUNTEER:
            values["volunteer_id"] = user.id
        elif user.role == Role.CARE_MANAGER:
            values["care_manager_id"] = user.id
        elder = elders_service.create_elder(
            session, user=user, data=ElderCreate(**values), request_id=request_id
        )
    # Serialises numbering on PostgreSQL (the row lock) and SQLite (the write lock).
    session.execute(
        sa.update(RoundRow)
        .where(col(RoundRow.id) == round_id)
        .values(next_number=RoundRow.next_number + 1)
    )
    seq = session.exec(select(RoundRow.next_number).where(RoundRow.id == round_id)).one() - 1
    application = Application(
        round_id=round_id,
        elder_id=elder.id,
        number=f"{round_.code}-{seq:05d}",
        title=named.title,
        first_name=named.first_name,
        last_name=named.last_name,
        birth_date=named.birth_date,
        community=named.community,
        identity_check=hidden,
        answers=answers,
        evidence_notes=data.evidence_notes,
        assessed_by=assessed_by,
        assessed_at=data.assessed_at or now,
        submitted_by=user.id,
        submitted_at=now,
        possible_duplicate_of=similar,
    )
    session.add(application)
    session.flush()
    _snapshot(
        session, application=application, result=result, answers=answers,
        rubric_hash=rubric_row.content_hash, reason=ScoreReason.SUBMITTED, user=user,
    )  # fmt: skip
    audit.record(
        session, actor=user, action="create", entity="eligibility_application",
        entity_id=application.id, elder_id=elder.id, fields=answers.keys(),
        request_id=request_id,
        detail={"round_id": str(round_id), "number": application.number,
                "total_centi": result.total_centi},
    )  # fmt: skip
    try:
        session.commit()
    except sa.exc.IntegrityError as exc:
        session.rollback()
        raise ApiError(
            409, "duplicate_application", "eligibility.duplicate_application",
            field="elder_id", number="?",
        ) from exc  # fmt: skip
    return application


def can_read_application(user: User, application: Application) -> bool:
    if user.role in MANAGERS or user.role == Role.CARE_MANAGER:
        return True
    return application.submitted_by == user.id


def get_application(session: Session, *, user: User, application_id: uuid.UUID) -> Application:
    application = session.get(Application, application_id)
    if application is None or not can_read_application(user, application):
        raise ApiError(404, "not_found", "common.not_found")
    return application


def correct_application(
    session: Session,
    *,
    user: User,
    application_id: uuid.UUID,
    data: ApplicationCorrection,
    request_id: str | None,
) -> Application:
    """New answers make a new score snapshot; the old one stays, and a ranked round re-ranks."""
    application = get_application(session, user=user, application_id=application_id)
    round_ = get_round(session, application.round_id, for_update=True)
    if round_.status not in CORRECTABLE:
        raise ApiError(409, "round_locked", "eligibility.round_locked", status=round_.status)
    if user.role not in MANAGERS and round_.status != RoundStatus.OPEN:
        raise ApiError(409, "round_locked", "eligibility.round_locked", status=round_.status)
    if data.version != application.version:
        raise ApiError(409, "stale_version", "eligibility.stale_version", field="version")
    rubric_row = get_rubric(session, round_.rubric_id)
    rubric = parsed(rubric_row)
    answers = _with_derived(
        rubric, data.answers, birth_date=application.birth_date,
        on=application.submitted_at.date(),
    )  # fmt: skip
    result = _score(rubric, answers)
    before = application.total_centi
    result_rows = session.execute(
        sa.update(Application)
        .where(col(Application.id) == application.id, col(Application.version) == data.version)
        .values(
            version=data.version + 1,
            answers=answers,
            **({"evidence_notes": data.evidence_notes} if data.evidence_notes else {}),
        )
    )
    if result_rows.rowcount != 1:  # type: ignore[attr-defined]
        session.rollback()
        raise ApiError(409, "stale_version", "eligibility.stale_version", field="version")
    session.refresh(application)
    _snapshot(
        session, application=application, result=result, answers=answers,
        rubric_hash=rubric_row.content_hash, reason=ScoreReason.CORRECTION, user=user,
        note=data.reason,
    )  # fmt: skip
    audit.record(
        session, actor=user, action="correct", entity="eligibility_application",
        entity_id=application.id, elder_id=application.elder_id, fields=answers.keys(),
        request_id=request_id,
        detail={"reason": data.reason, "total_before": before, "total_after": result.total_centi},
    )  # fmt: skip
    if round_.status == RoundStatus.SCORED:
        _rank(session, round_=round_, user=user)
    session.commit()
    session.refresh(application)
    return application


def score_history(session: Session, application_id: uuid.UUID) -> list[ScoreSnapshot]:
    return list(
        session.exec(
            select(ScoreSnapshot)
            .where(ScoreSnapshot.application_id == application_id)
            .order_by(col(ScoreSnapshot.sequence))
        ).all()
    )


def score_out(snap: ScoreSnapshot, rubric: scoring.Rubric, locale: Locale) -> ScoreOut:
    items: list[CriterionScoreOut] = []
    for b in snap.breakdown:
        try:
            criterion = rubric.criterion(b["criterion"])
        except KeyError:
            continue
        label = None
        if criterion.kind == "choice":
            option = next((o for o in criterion.options if o.value == b["answer"]), None)
            label = _text(option.label, locale) if option else None
        items.append(
            CriterionScoreOut(
                criterion=b["criterion"],
                question=_text(criterion.question, locale),
                answer=b["answer"],
                answer_label=label,
                points=b["points"],
                weight=scoring.format_centi(b["weight_centi"]),
                weighted=scoring.format_centi(b["weighted_centi"]),
            )
        )
    return ScoreOut(
        id=snap.id, sequence=snap.sequence, reason=snap.reason,
        total=scoring.format_centi(snap.total_centi), total_centi=snap.total_centi,
        breakdown=items, targets_met=snap.targets_met, eligible=snap.eligible,
        rubric_hash=snap.rubric_hash, note=snap.note, scored_by=snap.scored_by,
        scored_at=snap.scored_at,
    )  # fmt: skip


def _text(texts: Mapping[str, str], locale: Locale) -> str:
    return texts.get(locale) or texts.get("th") or next(iter(texts.values()))


def full_name(application: Application) -> str:
    # Thai writes the title against the first name: "นางสมศรี ใจดี".
    return f"{application.title or ''}{application.first_name} {application.last_name}"


def application_out(
    session: Session,
    application: Application,
    *,
    user: User,
    locale: Locale,
    request_id: str | None,
) -> ApplicationOut:
    """The full application; reading its answers is written to the audit log."""
    round_ = get_round(session, application.round_id)
    rubric = parsed(get_rubric(session, round_.rubric_id))
    snap = session.get(ScoreSnapshot, application.score_id) if application.score_id else None
    votes: list[VoteOut] = []
    notes: list[NoteOut] = []
    if user.role in MANAGERS:
        for d, member in session.exec(
            select(Decision, User)
            .join(User, col(User.id) == col(Decision.member_id))
            .where(Decision.application_id == application.id)
            .order_by(col(Decision.at))
        ).all():
            votes.append(
                VoteOut(member_id=d.member_id, member_name=member.full_name,
                        decision=d.decision, reason=d.reason, at=d.at)
            )  # fmt: skip
        for n, author in session.exec(
            select(Note, User)
            .join(User, col(User.id) == col(Note.author_id))
            .where(Note.application_id == application.id)
            .order_by(col(Note.at))
        ).all():
            notes.append(NoteOut(id=n.id, author_name=author.full_name, text=n.text, at=n.at))
    out = ApplicationOut(
        id=application.id, round_id=application.round_id, elder_id=application.elder_id,
        number=application.number, name=full_name(application), community=application.community,
        answers=application.answers, evidence_notes=application.evidence_notes,
        assessed_by=application.assessed_by, assessed_at=application.assessed_at,
        submitted_by=application.submitted_by, submitted_at=application.submitted_at,
        possible_duplicate_of=application.possible_duplicate_of,
        score=score_out(snap, rubric, locale) if snap else None, rank=application.rank,
        within_quota=application.within_quota, decided_by=application.decided_by,
        outcome=application.outcome, version=application.version, votes=votes, notes=notes,
        identity_check=application.identity_check if user.role in MANAGERS else None,
    )  # fmt: skip
    audit.record_reads(
        session, actor=user, entity="eligibility_application", elder_ids=[application.elder_id],
        fields=["eligibility_answers", "score"], request_id=request_id,
    )  # fmt: skip
    return out


# --- the ranking as the committee reads it -------------------------------------------------


def ranking_page(
    session: Session,
    *,
    user: User,
    round_id: uuid.UUID,
    q: str | None = None,
    community: str | None = None,
    target: str | None = None,
    quota: bool | None = None,
    eligible: bool | None = None,
    vote: str | None = None,
    page: int = 1,
    page_size: int = 50,
    request_id: str | None = None,
) -> RankingPage:
    """One page of the ranking, filtered in the database (5,000 applicants stay quick)."""
    round_ = get_round(session, round_id)
    query = select(Application).where(Application.round_id == round_id)
    if q:
        like = f"%{q.strip()}%"
        query = query.where(
            or_(
                col(Application.number).ilike(like),
                col(Application.first_name).ilike(like),
                col(Application.last_name).ilike(like),
            )
        )
    if community:
        query = query.where(Application.community == community)
    if quota is not None:
        query = query.where(Application.within_quota == quota)
    if eligible is not None:
        query = query.where(Application.eligible == eligible)
    if target:
        # targets_met is a short JSON list of keys; a quoted LIKE is exact and portable.
        query = query.where(sa.cast(Application.targets_met, sa.String).like(f'%"{target}"%'))
    mine = select(Decision.application_id).where(Decision.member_id == user.id)
    if vote == "undecided":
        query = query.where(col(Application.id).not_in(mine))
    elif vote in ("approve", "reject", "defer"):
        query = query.where(
            col(Application.id).in_(
                select(Decision.application_id).where(Decision.decision == vote)
            )
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
    run = latest_ranking(session, round_id)
    items = [
        RankingItem(
            application_id=a.id,
            number=a.number,
            name=full_name(a),
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
