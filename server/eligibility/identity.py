"""Applications for a person the registry holds under an elder the submitter may not see.

A volunteer who types a national ID already in the registry must learn nothing about that
record: not its name, community or age, and not even that it exists. So the application is
taken as typed (names, community, birth date from the form, never from the registry), held
for an identity check and kept out of the ranking until an administrator or the committee
confirms it. If that person already has an application in the round, the new submission is
kept as a note on it (nothing is lost) and the submitter gets the same kind of reply as any
new application, built from what they typed.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from sqlmodel import Session, col, select

from server.audit import service as audit
from server.auth.models import User
from server.elders.models import Elder
from server.eligibility import scoring
from server.eligibility.models import Application, Note, ScoreReason, ScoreSnapshot
from server.eligibility.models import Round as RoundRow
from server.eligibility.schemas import AnswerValue, ApplicationOut, NewApplicant
from server.errors import ApiError
from server.i18n import Locale, translate


@dataclass(frozen=True)
class HeldSubmission:
    """A submission folded into an existing application; what its submitter is answered."""

    id: uuid.UUID
    round_id: uuid.UUID
    number: str
    person: NewApplicant
    answers: dict[str, AnswerValue]
    evidence_notes: str | None
    snapshot: ScoreSnapshot  # never stored: the reply's score
    submitted_by: uuid.UUID
    submitted_at: datetime


def held_submission(
    session: Session,
    *,
    user: User,
    round_: RoundRow,
    elder: Elder,
    person: NewApplicant,
    answers: Mapping[str, AnswerValue],
    result: scoring.Score,
    rubric_hash: str,
    evidence_notes: str | None,
    request_id: str | None,
    now: datetime,
) -> HeldSubmission | None:
    """None when the hidden elder has no application in the round (the caller files one,
    held for the identity check). Otherwise keeps the submission as a note (adds; the
    request commits)."""
    existing = session.exec(
        select(Application).where(
            Application.round_id == round_.id, Application.elder_id == elder.id
        )
    ).first()
    if existing is None:
        return None
    # A number like any other submission's, so the reply does not stand out.
    session.execute(
        sa.update(RoundRow)
        .where(col(RoundRow.id) == round_.id)
        .values(next_number=RoundRow.next_number + 1)
    )
    seq = session.exec(select(RoundRow.next_number).where(RoundRow.id == round_.id)).one() - 1
    number = f"{round_.code}-{seq:05d}"
    text = translate(
        "security.held_note", "th", number=number,
        name=f"{person.title or ''}{person.first_name} {person.last_name}",
        answers=json.dumps(dict(answers), ensure_ascii=False),
    )[:2000]  # fmt: skip
    session.add(Note(application_id=existing.id, author_id=user.id, text=text, at=now))
    audit.record(
        session, actor=user, action="create", entity="eligibility_submission_held",
        entity_id=existing.id, elder_id=elder.id, fields=answers.keys(), request_id=request_id,
        detail={"round_id": str(round_.id), "number": number, "held_on": existing.number},
    )  # fmt: skip
    session.flush()
    held_id = uuid.uuid4()
    snapshot = ScoreSnapshot(
        id=uuid.uuid4(), application_id=held_id, sequence=1, reason=ScoreReason.SUBMITTED,
        answers=dict(answers), rubric_hash=rubric_hash, total_centi=result.total_centi,
        breakdown=[
            {"criterion": b.criterion, "answer": b.answer, "points": b.points,
             "weight_centi": b.weight_centi, "weighted_centi": b.weighted_centi}
            for b in result.breakdown
        ],
        targets_met=list(result.targets_met), eligible=result.eligible, scored_by=user.id,
        scored_at=now,
    )  # fmt: skip
    return HeldSubmission(
        id=held_id, round_id=round_.id, number=number, person=person, answers=dict(answers),
        evidence_notes=evidence_notes, snapshot=snapshot, submitted_by=user.id, submitted_at=now,
    )  # fmt: skip


def held_out(session: Session, held: HeldSubmission, *, locale: Locale) -> ApplicationOut:
    from server.eligibility import rounds, rubrics, service  # service builds on this module

    round_ = rounds.get_round(session, held.round_id)
    rubric = rubrics.parsed(rubrics.get_rubric(session, round_.rubric_id))
    p = held.person
    return ApplicationOut(
        id=held.id, round_id=held.round_id, elder_id=held.id, number=held.number,
        name=f"{p.title or ''}{p.first_name} {p.last_name}", community=p.community,
        answers=held.answers, evidence_notes=held.evidence_notes, assessed_by=held.submitted_by,
        assessed_at=held.submitted_at, submitted_by=held.submitted_by,
        submitted_at=held.submitted_at, possible_duplicate_of=None,
        score=service.score_out(held.snapshot, rubric, locale), rank=None, within_quota=False,
        decided_by=None, outcome=None, version=1, votes=[], notes=[],
    )  # fmt: skip


def confirm_identity(
    session: Session, *, user: User, application: Application, request_id: str | None
) -> Application:
    """An administrator or the committee has checked who it is: the application may be ranked."""
    if not application.identity_check:
        raise ApiError(409, "identity_not_held", "security.identity_not_held")
    application.identity_check = False
    application.version += 1
    session.add(application)
    audit.record(
        session, actor=user, action="confirm_identity", entity="eligibility_application",
        entity_id=application.id, elder_id=application.elder_id, request_id=request_id,
    )  # fmt: skip
    session.flush()
    return application
