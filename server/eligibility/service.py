"""Applications: submitting, correcting and reading them, with their score snapshots.

Rubrics, rounds and the committee's ranking view have modules of their own (`rubrics`,
`rounds`, `ranking_view`); the arithmetic lives in `scoring` and `ranking` (pure). This
module checks who may do what and when, persists a snapshot around every computation, and
writes the audit log.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from datetime import date, datetime

import sqlalchemy as sa
from sqlmodel import Session, col, func, select

from server.audit import service as audit
from server.auth.models import Role, User
from server.common.time import utcnow
from server.db import updated_one
from server.elders import service as elders_service
from server.elders.models import Elder, ElderStatus
from server.elders.schemas import ElderCreate
from server.eligibility import rounds, rubrics, scoring
from server.eligibility.models import (
    Application,
    Decision,
    Note,
    RoundStatus,
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
    ScoreOut,
    VoteOut,
)
from server.errors import ApiError
from server.i18n import Locale, format_datetime

CORRECTABLE = (RoundStatus.OPEN, RoundStatus.CLOSED, RoundStatus.SCORED)


class LocalTime:
    """A time shown in the reader's language: "{at:th}" / "{at:en}" in the catalogue."""

    def __init__(self, value: datetime) -> None:
        self.value = value

    def __format__(self, spec: str) -> str:
        locale: Locale = "en" if spec == "en" else "th"
        return format_datetime(self.value, locale)


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


def _resolve_applicant(
    session: Session, *, user: User, round_id: uuid.UUID, data: ApplicationCreate
) -> Elder | None:
    """The registry entry the application is for, if there is one (None: a new person), and
    refuses a second application for them in the round."""
    if (data.elder_id is None) == (data.person is None):
        raise ApiError(422, "elder_or_person", "eligibility.elder_or_person", field="elder_id")
    elder: Elder | None = None
    if data.elder_id is not None:
        elder = elders_service.get_visible(session, user=user, elder_id=data.elder_id)
    else:
        assert data.person is not None
        # The same national ID is the same person: link to the registry entry that exists.
        elder = elders_service.find_by_national_id(session, data.person.national_id)
    if elder is not None:
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
    return elder


def _register_applicant(
    session: Session, *, user: User, person: NewApplicant, request_id: str | None
) -> Elder:
    """A person not yet in the registry enters it as an applicant, looked after by whoever
    brought the application."""
    values = person.model_dump()
    values["status"] = ElderStatus.APPLICANT
    if user.role == Role.VOLUNTEER:
        values["volunteer_id"] = user.id
    elif user.role == Role.CARE_MANAGER:
        values["care_manager_id"] = user.id
    return elders_service.create_elder(
        session, user=user, data=ElderCreate(**values), request_id=request_id
    )


def _next_number(session: Session, round_: RoundRow) -> str:
    """The round's next application number ("<code>-00042")."""
    # Serialises numbering on PostgreSQL (the row lock) and SQLite (the write lock).
    session.execute(
        sa.update(RoundRow)
        .where(col(RoundRow.id) == round_.id)
        .values(next_number=RoundRow.next_number + 1)
    )
    seq = session.exec(select(RoundRow.next_number).where(RoundRow.id == round_.id)).one() - 1
    return f"{round_.code}-{seq:05d}"


def submit_application(
    session: Session,
    *,
    user: User,
    round_id: uuid.UUID,
    data: ApplicationCreate,
    request_id: str | None,
    now: datetime | None = None,
) -> Application:
    now = now or utcnow()
    round_ = rounds.get_round(session, round_id)
    _registration_open(round_, now)
    elder = _resolve_applicant(session, user=user, round_id=round_id, data=data)
    person = data.person
    birth_date = elder.birth_date if elder else person.birth_date  # type: ignore[union-attr]
    first_name = elder.first_name if elder else person.first_name  # type: ignore[union-attr]
    last_name = elder.last_name if elder else person.last_name  # type: ignore[union-attr]
    rubric_row = rubrics.get_rubric(session, round_.rubric_id)
    rubric = rubrics.parsed(rubric_row)
    answers = _with_derived(rubric, data.answers, birth_date=birth_date, on=now.date())
    result = _score(rubric, answers)
    assessed_by = data.assessed_by or user.id
    if data.assessed_by is not None and session.get(User, data.assessed_by) is None:
        raise ApiError(422, "unknown_user", "eligibility.unknown_user", field="assessed_by")
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
        elder = _register_applicant(session, user=user, person=person, request_id=request_id)
    application = Application(
        round_id=round_id,
        elder_id=elder.id,
        number=_next_number(session, round_),
        title=elder.title,
        first_name=elder.first_name,
        last_name=elder.last_name,
        birth_date=elder.birth_date,
        community=elder.community,
        answers=answers,
        evidence_notes=data.evidence_notes,
        assessed_by=assessed_by,
        assessed_at=data.assessed_at or now,
        submitted_by=user.id,
        submitted_at=now,
        possible_duplicate_of=similar,
    )
    session.add(application)
    try:
        session.flush()
    except sa.exc.IntegrityError as exc:  # the same elder, submitted at the same moment
        raise ApiError(
            409, "duplicate_application", "eligibility.duplicate_application",
            field="elder_id", number="?",
        ) from exc  # fmt: skip
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
    session.flush()
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
    round_ = rounds.get_round(session, application.round_id, for_update=True)
    if round_.status not in CORRECTABLE:
        raise ApiError(409, "round_locked", "eligibility.round_locked", status=round_.status)
    if user.role not in MANAGERS and round_.status != RoundStatus.OPEN:
        raise ApiError(409, "round_locked", "eligibility.round_locked", status=round_.status)
    if data.version != application.version:
        raise ApiError(409, "stale_version", "eligibility.stale_version", field="version")
    rubric_row = rubrics.get_rubric(session, round_.rubric_id)
    rubric = rubrics.parsed(rubric_row)
    answers = _with_derived(
        rubric, data.answers, birth_date=application.birth_date,
        on=application.submitted_at.date(),
    )  # fmt: skip
    result = _score(rubric, answers)
    before = application.total_centi
    if not updated_one(
        session,
        sa.update(Application)
        .where(col(Application.id) == application.id, col(Application.version) == data.version)
        .values(
            version=data.version + 1,
            answers=answers,
            **({"evidence_notes": data.evidence_notes} if data.evidence_notes else {}),
        ),
    ):
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
        rounds.record_ranking(session, round_=round_, user=user)
    session.flush()
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
    round_ = rounds.get_round(session, application.round_id)
    rubric = rubrics.parsed(rubrics.get_rubric(session, round_.rubric_id))
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
    )  # fmt: skip
    audit.record_reads(
        session, actor=user, entity="eligibility_application", elder_ids=[application.elder_id],
        fields=["eligibility_answers", "score"], request_id=request_id,
    )  # fmt: skip
    return out
