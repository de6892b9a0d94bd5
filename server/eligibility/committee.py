"""The committee's part: votes and notes, closing screening, approval, publication,
appeals, and the installation tasks that carry approved applicants into service."""

from __future__ import annotations

import uuid
from collections import defaultdict
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlmodel import Session, col, select

from server.audit import service as audit
from server.auth.models import Role, User
from server.common.time import utcnow
from server.elders import service as elders_service
from server.elders.models import ElderStatus
from server.eligibility import ranking, rounds, rubrics, scoring, service
from server.eligibility.models import (
    Appeal,
    AppealStatus,
    Application,
    Decision,
    InstallationTask,
    Note,
    RoundStatus,
    ScoreReason,
    ScoreSnapshot,
    TaskKind,
    TaskStatus,
)
from server.eligibility.models import Round as RoundRow
from server.eligibility.schemas import (
    AnswerValue,
    AppealOut,
    ApproveIn,
    TaskOut,
    parse_official_date,
)
from server.errors import ApiError

TASK_ORDER = (TaskKind.INSTALL, TaskKind.TRAIN, TaskKind.TEST_PRESS)


def _require_status(round_: RoundRow, *allowed: RoundStatus) -> None:
    if round_.status not in allowed:
        raise ApiError(
            409, "wrong_status", "eligibility.wrong_status", status=round_.status,
            extra={"status": round_.status, "expected": [s.value for s in allowed]},
        )  # fmt: skip


def record_vote(
    session: Session,
    *,
    user: User,
    application_id: uuid.UUID,
    decision: ranking.Vote,
    reason: str,
    request_id: str | None,
) -> Decision:
    """A member's approve / reject / defer with a reason; a new vote replaces theirs."""
    application = service.get_application(session, user=user, application_id=application_id)
    round_ = rounds.get_round(session, application.round_id)
    _require_status(round_, RoundStatus.SCORED)
    current = session.exec(
        select(Decision).where(
            Decision.application_id == application_id, Decision.member_id == user.id
        )
    ).first()
    before = current.decision.value if current else None
    if current is None:
        current = Decision(
            round_id=round_.id, application_id=application_id, member_id=user.id,
            decision=decision, reason=reason,
        )  # fmt: skip
    else:
        current.decision, current.reason, current.at = decision, reason, utcnow()
    session.add(current)
    audit.record(
        session, actor=user, action="vote", entity="eligibility_application",
        entity_id=application_id, elder_id=application.elder_id, request_id=request_id,
        detail={"round_id": str(round_.id), "decision": decision.value, "before": before,
                "reason": reason},
    )  # fmt: skip
    session.flush()
    return current


def add_note(
    session: Session, *, user: User, application_id: uuid.UUID, text: str, request_id: str | None
) -> Note:
    application = service.get_application(session, user=user, application_id=application_id)
    note = Note(application_id=application_id, author_id=user.id, text=text)
    session.add(note)
    session.flush()
    audit.record(
        session, actor=user, action="note", entity="eligibility_application",
        entity_id=application_id, elder_id=application.elder_id, request_id=request_id,
        detail={"note_id": str(note.id)},
    )  # fmt: skip
    session.flush()
    return note


def _votes_by_application(session: Session, round_id: uuid.UUID) -> dict[str, list[ranking.Vote]]:
    votes: dict[str, list[ranking.Vote]] = defaultdict(list)
    for app_id, decision in session.execute(
        sa.select(col(Decision.application_id), col(Decision.decision)).where(
            col(Decision.round_id) == round_id
        )
    ).all():
        votes[str(app_id)].append(ranking.Vote(decision))
    return votes


def members_not_voted(session: Session, round_id: uuid.UUID) -> tuple[int, int]:
    """(members who have not voted on any application of the round, all active members)."""
    members = set(
        session.exec(
            select(User.id).where(User.role == Role.COMMITTEE, col(User.active).is_(True))
        ).all()
    )
    voted = set(
        session.exec(
            select(Decision.member_id).where(col(Decision.round_id) == round_id).distinct()
        ).all()
    )
    return len(members - voted), len(members)


def close_screening(
    session: Session, *, user: User, round_id: uuid.UUID, request_id: str | None
) -> RoundRow:
    """The chair closes screening: every application gets its outcome from rank and votes."""
    round_ = rounds.get_round(session, round_id, for_update=True)
    if round_.chair_id is None:
        raise ApiError(409, "no_chair", "eligibility.no_chair", field="chair_id")
    if user.id != round_.chair_id:
        raise ApiError(403, "not_chair", "eligibility.not_chair")
    _require_status(round_, RoundStatus.SCORED)
    assert round_.seed is not None
    ranked = ranking.rank(
        rounds.rank_inputs(session, round_id), devices=round_.devices, seed=round_.seed
    )
    outcomes = ranking.screen(
        ranked, votes=_votes_by_application(session, round_id), devices=round_.devices
    )
    if outcomes:
        session.execute(
            sa.update(Application),
            [{"id": uuid.UUID(app_id), "outcome": o} for app_id, o in outcomes.items()],
        )
    counts: dict[str, int] = defaultdict(int)
    for outcome in outcomes.values():
        counts[outcome.value] += 1
    rounds._transition(
        session, user=user, round_=round_, expected=[RoundStatus.SCORED],
        to=RoundStatus.SCREENED, request_id=request_id, detail={"outcomes": dict(counts)},
        screened_at=utcnow(),
    )  # fmt: skip
    session.flush()
    return round_


def approve_round(
    session: Session, *, user: User, round_id: uuid.UUID, data: ApproveIn, request_id: str | None
) -> RoundRow:
    round_ = rounds.get_round(session, round_id, for_update=True)
    try:
        # Judged against the round's own dates, so a year typed 543 off is caught.
        approved_on = parse_official_date(data.approved_on, today=round_.closes_at.date())
    except ValueError as error:
        raise ApiError(422, "invalid_date", "eligibility.invalid_approval_date",
                       field="approved_on", extra={"problem": str(error)}) from error  # fmt: skip
    rounds._transition(
        session, user=user, round_=round_, expected=[RoundStatus.SCREENED],
        to=RoundStatus.APPROVED, request_id=request_id,
        detail={"approving_body": data.approving_body, "approved_on": approved_on.isoformat(),
                "reference": data.reference, "signer_name": data.signer_name,
                "signer_position": data.signer_position},
        approving_body=data.approving_body, approved_on=approved_on,
        approval_reference=data.reference, approved_by=user.id,
        signer_name=data.signer_name, signer_position=data.signer_position,
    )  # fmt: skip
    session.flush()
    return round_


def publish_round(
    session: Session,
    *,
    user: User,
    round_id: uuid.UUID,
    request_id: str | None,
    now: datetime | None = None,
) -> RoundRow:
    """Publishes the approved list, opens the appeal period and enrols the selected."""
    now = now or utcnow()
    round_ = rounds.get_round(session, round_id, for_update=True)
    rounds._transition(
        session, user=user, round_=round_, expected=[RoundStatus.APPROVED],
        to=RoundStatus.PUBLISHED, request_id=request_id, published_at=now,
        appeal_deadline=now + timedelta(days=round_.appeal_days),
    )  # fmt: skip
    selected = session.exec(
        select(Application)
        .where(Application.round_id == round_id, Application.outcome == ranking.Outcome.SELECTED)
        .order_by(col(Application.rank))
    ).all()
    for application in selected:
        _enrol(session, application=application, user=user, request_id=request_id, now=now)
    session.flush()
    return round_


def _enrol(
    session: Session, *, application: Application, user: User, request_id: str | None,
    now: datetime,
) -> None:  # fmt: skip
    """The applicant becomes an enrolled elder with the tasks that lead to a working device."""
    elders_service.change_status(
        session, actor=user, elder_id=application.elder_id, from_status=ElderStatus.APPLICANT,
        to_status=ElderStatus.ENROLLED, request_id=request_id,
        detail={"application": application.number},
    )  # fmt: skip
    for position, kind in enumerate(TASK_ORDER):
        session.add(
            InstallationTask(
                elder_id=application.elder_id,
                round_id=application.round_id,
                application_id=application.id,
                kind=kind,
                position=position,
            )
        )
    application.enrolled_at = now
    session.add(application)
    audit.record(
        session, actor=user, action="tasks_created", entity="eligibility_application",
        entity_id=application.id, elder_id=application.elder_id, request_id=request_id,
        detail={"tasks": [k.value for k in TASK_ORDER]},
    )  # fmt: skip


# --- appeals -------------------------------------------------------------------------------


def file_appeal(
    session: Session,
    *,
    user: User,
    application_id: uuid.UUID,
    reason: str,
    request_id: str | None,
    now: datetime | None = None,
) -> Appeal:
    now = now or utcnow()
    application = service.get_application(session, user=user, application_id=application_id)
    round_ = rounds.get_round(session, application.round_id)
    _require_status(round_, RoundStatus.PUBLISHED)
    assert round_.appeal_deadline is not None
    if now > round_.appeal_deadline:
        raise ApiError(
            409, "appeal_period_over", "eligibility.appeal_period_over",
            deadline=service.LocalTime(round_.appeal_deadline),
        )  # fmt: skip
    if application.outcome == ranking.Outcome.SELECTED:
        raise ApiError(409, "already_selected", "eligibility.already_selected")
    pending = session.exec(
        select(Appeal.id).where(
            Appeal.application_id == application_id, Appeal.status == AppealStatus.PENDING
        )
    ).first()
    if pending:
        raise ApiError(409, "appeal_pending", "eligibility.appeal_pending")
    appeal = Appeal(
        round_id=round_.id, application_id=application_id, reason=reason, filed_by=user.id,
        filed_at=now, outcome_before=application.outcome, score_before_id=application.score_id,
    )  # fmt: skip
    session.add(appeal)
    session.flush()
    audit.record(
        session, actor=user, action="appeal", entity="eligibility_application",
        entity_id=application_id, elder_id=application.elder_id, request_id=request_id,
        detail={"appeal_id": str(appeal.id)},
    )  # fmt: skip
    session.flush()
    return appeal


def decide_appeal(
    session: Session,
    *,
    user: User,
    appeal_id: uuid.UUID,
    upheld: bool,
    reason: str,
    answers: dict[str, AnswerValue] | None,
    request_id: str | None,
) -> Appeal:
    """Re-scores with the round's own rubric version and records the committee's outcome."""
    appeal = session.get(Appeal, appeal_id)
    if appeal is None:
        raise ApiError(404, "not_found", "common.not_found")
    if appeal.status != AppealStatus.PENDING:
        raise ApiError(409, "appeal_decided", "eligibility.appeal_decided")
    application = service.get_application(session, user=user, application_id=appeal.application_id)
    round_ = rounds.get_round(session, appeal.round_id)
    rubric_row = rubrics.get_rubric(session, round_.rubric_id)
    rubric = rubrics.parsed(rubric_row)
    given = answers if answers is not None else application.answers
    new_answers = service._with_derived(
        rubric, given, birth_date=application.birth_date, on=application.submitted_at.date()
    )
    result = service._score(rubric, new_answers)
    if answers is not None:
        application.answers = new_answers
    snap = service._snapshot(
        session, application=application, result=result, answers=new_answers,
        rubric_hash=rubric_row.content_hash, reason=ScoreReason.APPEAL, user=user, note=reason,
    )  # fmt: skip
    now = utcnow()
    appeal.status = AppealStatus.UPHELD if upheld else AppealStatus.DISMISSED
    appeal.score_after_id = snap.id
    appeal.decision_reason = reason
    appeal.decided_by = user.id
    appeal.decided_at = now
    session.add(appeal)
    if upheld:
        application.outcome = ranking.Outcome.SELECTED
        session.add(application)
        session.flush()
        _enrol(session, application=application, user=user, request_id=request_id, now=now)
    audit.record(
        session, actor=user, action="appeal_decided", entity="eligibility_application",
        entity_id=application.id, elder_id=application.elder_id, request_id=request_id,
        detail={"appeal_id": str(appeal.id), "status": appeal.status.value, "reason": reason,
                "total_after": result.total_centi, "rubric_hash": rubric_row.content_hash},
    )  # fmt: skip
    session.flush()
    return appeal


def appeal_out(session: Session, appeal: Appeal) -> AppealOut:
    application = session.get(Application, appeal.application_id)
    assert application is not None

    def total(score_id: uuid.UUID | None) -> str | None:
        snap = session.get(ScoreSnapshot, score_id) if score_id else None
        return scoring.format_centi(snap.total_centi) if snap else None

    return AppealOut(
        id=appeal.id, application_id=appeal.application_id, number=application.number,
        reason=appeal.reason, filed_at=appeal.filed_at, status=appeal.status,
        outcome_before=appeal.outcome_before, score_before=total(appeal.score_before_id),
        score_after=total(appeal.score_after_id), decision_reason=appeal.decision_reason,
        decided_at=appeal.decided_at,
    )  # fmt: skip


def list_appeals(session: Session, round_id: uuid.UUID) -> list[Appeal]:
    rounds.get_round(session, round_id)
    return list(
        session.exec(
            select(Appeal).where(Appeal.round_id == round_id).order_by(col(Appeal.filed_at))
        ).all()
    )


# --- installation tasks --------------------------------------------------------------------


def list_tasks(
    session: Session,
    *,
    user: User | None = None,
    round_id: uuid.UUID | None = None,
    status: TaskStatus | None = None,
    limit: int = 200,
    offset: int = 0,
    request_id: str | None = None,
) -> list[TaskOut]:
    """Tasks for the elders `user` may see (all for no user: jobs and tests); the read of the
    names is audited, one row per elder shown."""
    query = select(InstallationTask, Application).join(
        Application, col(Application.id) == col(InstallationTask.application_id)
    )
    visible = elders_service.visible_elder_ids(session, user) if user is not None else None
    if visible is not None:
        query = query.where(col(InstallationTask.elder_id).in_(visible))
    if round_id is not None:
        query = query.where(InstallationTask.round_id == round_id)
    if status is not None:
        query = query.where(InstallationTask.status == status)
    query = query.order_by(col(Application.number), col(InstallationTask.position))
    tasks = [
        TaskOut(
            id=task.id,
            elder_id=task.elder_id,
            round_id=task.round_id,
            application_number=app.number,
            name=service.full_name(app),
            kind=task.kind,
            status=task.status,
            note=task.note,
            done_by=task.done_by,
            done_at=task.done_at,
        )
        for task, app in session.exec(query.offset(offset).limit(limit)).all()
    ]
    if user is not None:
        audit.record_reads(
            session, actor=user, entity="installation_tasks",
            elder_ids=sorted({t.elder_id for t in tasks}), fields=["name", "installation"],
            request_id=request_id,
        )  # fmt: skip
    return tasks


def complete_task(
    session: Session, *, user: User, task_id: uuid.UUID, note: str | None, request_id: str | None
) -> InstallationTask:
    task = session.get(InstallationTask, task_id)
    visible = elders_service.visible_elder_ids(session, user)
    # Another caregiver's elder: the same answer as a task that does not exist.
    if task is None or (visible is not None and task.elder_id not in visible):
        raise ApiError(404, "not_found", "common.not_found")
    if task.status == TaskStatus.DONE:
        raise ApiError(409, "task_done", "eligibility.task_done")
    earlier = session.exec(
        select(InstallationTask.kind).where(
            InstallationTask.application_id == task.application_id,
            col(InstallationTask.position) < task.position,
            InstallationTask.status != TaskStatus.DONE,
        )
    ).first()
    if earlier is not None:
        # A test press before the hub is installed would test nothing.
        raise ApiError(409, "task_order", "eligibility.task_order", extra={"waiting_for": earlier})
    task.status, task.done_by, task.done_at, task.note = TaskStatus.DONE, user.id, utcnow(), note
    session.add(task)
    audit.record(
        session, actor=user, action="task_done", entity="installation_task", entity_id=task.id,
        elder_id=task.elder_id, request_id=request_id, detail={"kind": task.kind.value},
    )  # fmt: skip
    session.flush()
    return task
