"""Eligibility API: thin handlers over `service` and `committee`; roles are route dependencies."""

from __future__ import annotations

import hashlib
import uuid
from typing import Annotated

from fastapi import APIRouter, Depends, File, Query, UploadFile
from fastapi.responses import FileResponse, Response
from sqlmodel import col, select
from starlette.concurrency import run_in_threadpool

from server.audit import service as audit
from server.auth.models import Role, User
from server.common.paging import MAX_PAGE
from server.common.uploads import safe_filename, sniff_document
from server.deps import (
    CurrentUser,
    HandlerRoute,
    LocaleDep,
    RequestId,
    SessionDep,
    SettingsDep,
    require_roles,
)
from server.eligibility import announce, committee, identity, ranking_view, rounds, rubrics, service
from server.eligibility.models import Application, Attachment, TaskStatus
from server.eligibility.schemas import (
    INSTALLERS,
    MANAGERS,
    READERS,
    SUBMITTERS,
    AnnouncementOut,
    AppealDecisionIn,
    AppealIn,
    AppealOut,
    ApplicationCorrection,
    ApplicationCreate,
    ApplicationOut,
    ApproveIn,
    AttachmentOut,
    DecisionIn,
    NoteIn,
    NoteOut,
    RankIn,
    RankingPage,
    RoundCreate,
    RoundOut,
    RoundUpdate,
    RubricIn,
    RubricOut,
    ScoreOut,
    TaskDoneIn,
    TaskOut,
    VoteOut,
)
from server.errors import ApiError

router = APIRouter(route_class=HandlerRoute, prefix="/api/v1/eligibility", tags=["eligibility"])

Reader = Annotated[User, Depends(require_roles(*READERS))]
Manager = Annotated[User, Depends(require_roles(*MANAGERS))]
Submitter = Annotated[User, Depends(require_roles(*SUBMITTERS))]
Member = Annotated[User, Depends(require_roles(Role.COMMITTEE))]
Installer = Annotated[User, Depends(require_roles(*INSTALLERS))]
Editor = Annotated[User, Depends(require_roles(*(SUBMITTERS | MANAGERS)))]

ATTACHMENT_TYPES = frozenset({"application/pdf", "image/jpeg", "image/png"})
ATTACHMENT_MAX = 900_000  # under the server's request-body limit


# --- rubrics -------------------------------------------------------------------------------


@router.get("/rubrics")
def list_rubrics(session: SessionDep, _user: Reader) -> list[RubricOut]:
    return [rubrics.rubric_out(r) for r in rubrics.list_rubrics(session)]


@router.post("/rubrics", status_code=201)
def create_rubric(body: RubricIn, session: SessionDep, user: Manager, rid: RequestId) -> RubricOut:
    rubric = rubrics.create_rubric(
        session, user=user, name=body.name, content=body.content(),
        based_on_id=body.based_on_id, request_id=rid,
    )  # fmt: skip
    return rubrics.rubric_out(rubric)


@router.get("/rubrics/{rubric_id}")
def get_rubric(rubric_id: uuid.UUID, session: SessionDep, _user: Reader) -> RubricOut:
    return rubrics.rubric_out(rubrics.get_rubric(session, rubric_id))


@router.put("/rubrics/{rubric_id}")
def update_rubric(
    rubric_id: uuid.UUID, body: RubricIn, session: SessionDep, user: Manager, rid: RequestId
) -> RubricOut:
    rubric = rubrics.update_rubric(
        session, user=user, rubric_id=rubric_id, name=body.name, content=body.content(),
        request_id=rid,
    )  # fmt: skip
    return rubrics.rubric_out(rubric)


# --- rounds --------------------------------------------------------------------------------


@router.get("/rounds")
def list_rounds(session: SessionDep, _user: Reader) -> list[RoundOut]:
    return [rounds.round_out(session, r) for r in rounds.list_rounds(session)]


@router.post("/rounds", status_code=201)
def create_round(body: RoundCreate, session: SessionDep, user: Manager, rid: RequestId) -> RoundOut:
    return rounds.round_out(
        session, rounds.create_round(session, user=user, data=body, request_id=rid)
    )


@router.get("/rounds/{round_id}")
def get_round(round_id: uuid.UUID, session: SessionDep, _user: Reader) -> RoundOut:
    return rounds.round_out(session, rounds.get_round(session, round_id))


@router.patch("/rounds/{round_id}")
def update_round(
    round_id: uuid.UUID, body: RoundUpdate, session: SessionDep, user: Manager, rid: RequestId
) -> RoundOut:
    round_ = rounds.update_round(session, user=user, round_id=round_id, data=body, request_id=rid)
    return rounds.round_out(session, round_)


@router.post("/rounds/{round_id}/open")
def open_round(round_id: uuid.UUID, session: SessionDep, user: Manager, rid: RequestId) -> RoundOut:
    return rounds.round_out(
        session, rounds.open_round(session, user=user, round_id=round_id, request_id=rid)
    )


@router.post("/rounds/{round_id}/close")
def close_round(
    round_id: uuid.UUID, session: SessionDep, user: Manager, rid: RequestId
) -> RoundOut:
    return rounds.round_out(
        session, rounds.close_round(session, user=user, round_id=round_id, request_id=rid)
    )


@router.post("/rounds/{round_id}/rank")
def rank_round(
    round_id: uuid.UUID,
    session: SessionDep,
    user: Manager,
    rid: RequestId,
    body: RankIn | None = None,
) -> RoundOut:
    rounds.rank_round(
        session, user=user, round_id=round_id, seed=body.seed if body else None, request_id=rid
    )
    return rounds.round_out(session, rounds.get_round(session, round_id))


@router.post("/rounds/{round_id}/close-screening")
def close_screening(
    round_id: uuid.UUID, session: SessionDep, user: Member, rid: RequestId
) -> RoundOut:
    round_ = committee.close_screening(session, user=user, round_id=round_id, request_id=rid)
    return rounds.round_out(session, round_)


@router.post("/rounds/{round_id}/approve")
def approve_round(
    round_id: uuid.UUID, body: ApproveIn, session: SessionDep, user: Manager, rid: RequestId
) -> RoundOut:
    round_ = committee.approve_round(
        session, user=user, round_id=round_id, data=body, request_id=rid
    )
    return rounds.round_out(session, round_)


@router.post("/rounds/{round_id}/publish")
def publish_round(
    round_id: uuid.UUID, session: SessionDep, user: Manager, rid: RequestId
) -> RoundOut:
    round_ = committee.publish_round(session, user=user, round_id=round_id, request_id=rid)
    return rounds.round_out(session, round_)


@router.get("/rounds/{round_id}/ranking")
def ranking(
    round_id: uuid.UUID,
    session: SessionDep,
    user: Manager,
    rid: RequestId,
    q: Annotated[str | None, Query(max_length=100)] = None,
    community: Annotated[str | None, Query(max_length=100)] = None,
    target: Annotated[str | None, Query(max_length=64, pattern=r"^[A-Za-z0-9_]+$")] = None,
    quota: bool | None = None,
    eligible: bool | None = None,
    vote: Annotated[str | None, Query(pattern=r"^(undecided|approve|reject|defer)$")] = None,
    page: Annotated[int, Query(ge=1, le=MAX_PAGE)] = 1,
    page_size: Annotated[int, Query(ge=1, le=200)] = 50,
) -> RankingPage:
    filters = ranking_view.RankingFilter(
        q=q, community=community, target=target, quota=quota, eligible=eligible, vote=vote
    )
    return ranking_view.ranking_page(
        session, user=user, round_id=round_id, filters=filters, page=page,
        page_size=page_size, request_id=rid,
    )  # fmt: skip


# --- applications --------------------------------------------------------------------------


@router.post("/rounds/{round_id}/applications", status_code=201)
def submit_application(
    round_id: uuid.UUID,
    body: ApplicationCreate,
    session: SessionDep,
    user: Submitter,
    rid: RequestId,
    locale: LocaleDep,
) -> ApplicationOut:
    application = service.submit_application(
        session, user=user, round_id=round_id, data=body, request_id=rid
    )
    if isinstance(application, identity.HeldSubmission):
        return identity.held_out(session, application, locale=locale)
    return service.application_out(session, application, user=user, locale=locale, request_id=rid)


@router.get("/rounds/{round_id}/held-applications")
def held_applications(
    round_id: uuid.UUID, session: SessionDep, user: Manager, rid: RequestId, locale: LocaleDep
) -> list[ApplicationOut]:
    """Applications held for an identity check (a national ID already in the registry)."""
    rounds.get_round(session, round_id)
    rows = session.exec(
        select(Application)
        .where(Application.round_id == round_id, col(Application.identity_check).is_(True))
        .order_by(col(Application.number))
    ).all()
    return [
        service.application_out(session, a, user=user, locale=locale, request_id=rid) for a in rows
    ]


@router.post("/applications/{application_id}/confirm-identity")
def confirm_identity(
    application_id: uuid.UUID, session: SessionDep, user: Manager, rid: RequestId,
    locale: LocaleDep,
) -> ApplicationOut:  # fmt: skip
    application = service.get_application(session, user=user, application_id=application_id)
    identity.confirm_identity(session, user=user, application=application, request_id=rid)
    return service.application_out(session, application, user=user, locale=locale, request_id=rid)


@router.get("/applications/{application_id}")
def get_application(
    application_id: uuid.UUID, session: SessionDep, user: Reader, rid: RequestId, locale: LocaleDep
) -> ApplicationOut:
    application = service.get_application(session, user=user, application_id=application_id)
    return service.application_out(session, application, user=user, locale=locale, request_id=rid)


@router.patch("/applications/{application_id}")
def correct_application(
    application_id: uuid.UUID,
    body: ApplicationCorrection,
    session: SessionDep,
    user: Editor,
    rid: RequestId,
    locale: LocaleDep,
) -> ApplicationOut:
    application = service.correct_application(
        session, user=user, application_id=application_id, data=body, request_id=rid
    )
    return service.application_out(session, application, user=user, locale=locale, request_id=rid)


@router.get("/applications/{application_id}/scores")
def score_history(
    application_id: uuid.UUID, session: SessionDep, user: Manager, rid: RequestId, locale: LocaleDep
) -> list[ScoreOut]:
    application = service.get_application(session, user=user, application_id=application_id)
    round_ = rounds.get_round(session, application.round_id)
    rubric = rubrics.parsed(rubrics.get_rubric(session, round_.rubric_id))
    out = [
        service.score_out(s, rubric, locale) for s in service.score_history(session, application.id)
    ]
    audit.record_reads(
        session, actor=user, entity="eligibility_scores", elder_ids=[application.elder_id],
        fields=["eligibility_answers", "score"], request_id=rid,
    )  # fmt: skip
    return out


@router.post("/applications/{application_id}/decisions", status_code=201)
def record_vote(
    application_id: uuid.UUID, body: DecisionIn, session: SessionDep, user: Member, rid: RequestId
) -> VoteOut:
    vote = committee.record_vote(
        session, user=user, application_id=application_id, decision=body.decision,
        reason=body.reason, request_id=rid,
    )  # fmt: skip
    return VoteOut(
        member_id=user.id, member_name=user.full_name, decision=vote.decision,
        reason=vote.reason, at=vote.at,
    )  # fmt: skip


@router.post("/applications/{application_id}/notes", status_code=201)
def add_note(
    application_id: uuid.UUID, body: NoteIn, session: SessionDep, user: Manager, rid: RequestId
) -> NoteOut:
    note = committee.add_note(
        session, user=user, application_id=application_id, text=body.text, request_id=rid
    )
    return NoteOut(id=note.id, author_name=user.full_name, text=note.text, at=note.at)


@router.post("/applications/{application_id}/attachments", status_code=201)
async def add_attachment(
    application_id: uuid.UUID,
    session: SessionDep,
    settings: SettingsDep,
    user: Editor,
    rid: RequestId,
    file: Annotated[UploadFile, File()],
) -> AttachmentOut:
    # The database and the disk are used off the event loop.
    application = await run_in_threadpool(
        service.get_application, session, user=user, application_id=application_id
    )
    content_type = (file.content_type or "").split(";")[0].strip()
    if content_type not in ATTACHMENT_TYPES:
        raise ApiError(415, "attachment_type", "eligibility.attachment_type", field="file")
    data = await file.read(ATTACHMENT_MAX + 1)
    if not data or len(data) > ATTACHMENT_MAX:
        raise ApiError(413, "attachment_size", "eligibility.attachment_size", field="file",
                       limit=ATTACHMENT_MAX)  # fmt: skip
    # The declared type is only a claim: the bytes must be that allowed type.
    if sniff_document(data[:16]) != content_type:
        raise ApiError(
            415, "attachment_type", "security.upload_type", field="file",
            allowed=", ".join(sorted(ATTACHMENT_TYPES)),
        )  # fmt: skip
    filename = safe_filename(file.filename, default="evidence")

    def store() -> AttachmentOut:
        digest = hashlib.sha256(data).hexdigest()
        folder = settings.data_dir / "eligibility" / str(application.id)
        folder.mkdir(parents=True, exist_ok=True)
        (folder / digest).write_bytes(data)
        row = Attachment(
            application_id=application.id, filename=filename, content_type=content_type,
            size=len(data), sha256=digest, uploaded_by=user.id,
        )  # fmt: skip
        session.add(row)
        audit.record(
            session, actor=user, action="attach", entity="eligibility_application",
            entity_id=application.id, elder_id=application.elder_id, request_id=rid,
            detail={"attachment_id": str(row.id), "sha256": digest},
        )  # fmt: skip
        session.commit()
        return AttachmentOut.model_validate(row.model_dump())

    return await run_in_threadpool(store)


@router.get("/applications/{application_id}/attachments")
def list_attachments(
    application_id: uuid.UUID, session: SessionDep, user: Reader
) -> list[AttachmentOut]:
    service.get_application(session, user=user, application_id=application_id)
    rows = session.exec(
        select(Attachment)
        .where(Attachment.application_id == application_id)
        .order_by(col(Attachment.uploaded_at))
    ).all()
    return [AttachmentOut.model_validate(r.model_dump()) for r in rows]


@router.get("/attachments/{attachment_id}", response_model=None)
def download_attachment(
    attachment_id: uuid.UUID, session: SessionDep, settings: SettingsDep, user: Reader,
    rid: RequestId,
) -> FileResponse:  # fmt: skip
    row = session.get(Attachment, attachment_id)
    if row is None:
        raise ApiError(404, "not_found", "common.not_found")
    application = service.get_application(session, user=user, application_id=row.application_id)
    audit.record_reads(
        session, actor=user, entity="eligibility_attachment", elder_ids=[application.elder_id],
        fields=["evidence"], request_id=rid,
    )  # fmt: skip
    path = settings.data_dir / "eligibility" / str(application.id) / row.sha256
    if not path.is_file():
        raise ApiError(404, "not_found", "common.not_found")
    return FileResponse(path, media_type=row.content_type, filename=row.filename)


# --- appeals -------------------------------------------------------------------------------


@router.post("/applications/{application_id}/appeals", status_code=201)
def file_appeal(
    application_id: uuid.UUID, body: AppealIn, session: SessionDep, user: Submitter, rid: RequestId
) -> AppealOut:
    appeal = committee.file_appeal(
        session, user=user, application_id=application_id, reason=body.reason, request_id=rid
    )
    return committee.appeal_out(session, appeal)


@router.get("/rounds/{round_id}/appeals")
def list_appeals(
    round_id: uuid.UUID, session: SessionDep, user: Manager, rid: RequestId
) -> list[AppealOut]:
    appeals = committee.list_appeals(session, round_id)
    out = [committee.appeal_out(session, a) for a in appeals]
    # An appeal's reason and scores are about the applicant's health: audited per elder.
    elder_ids = session.exec(
        select(Application.elder_id).where(
            col(Application.id).in_([a.application_id for a in appeals])
        )
    ).all()
    audit.record_reads(
        session, actor=user, entity="eligibility_appeal", elder_ids=sorted(set(elder_ids)),
        fields=["appeal_reason", "score"], request_id=rid,
    )  # fmt: skip
    return out


@router.post("/appeals/{appeal_id}/decide")
def decide_appeal(
    appeal_id: uuid.UUID, body: AppealDecisionIn, session: SessionDep, user: Member, rid: RequestId
) -> AppealOut:
    appeal = committee.decide_appeal(
        session, user=user, appeal_id=appeal_id, upheld=body.upheld, reason=body.reason,
        answers=body.answers, request_id=rid,
    )  # fmt: skip
    return committee.appeal_out(session, appeal)


# --- the public announcement ---------------------------------------------------------------


@router.get("/rounds/{round_id}/announcement")
def announcement(round_id: uuid.UUID, session: SessionDep, _user: CurrentUser) -> AnnouncementOut:
    return announce.announcement(session, round_id)


@router.get("/rounds/{round_id}/announcement.csv", response_class=Response)
def announcement_csv(
    round_id: uuid.UUID, session: SessionDep, _user: CurrentUser, locale: LocaleDep
) -> Response:
    notice = announce.announcement(session, round_id)
    return Response(
        announce.to_csv(notice, locale),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="announcement-{round_id}.csv"'},
    )


@router.get("/rounds/{round_id}/announcement.pdf", response_class=Response)
def announcement_pdf(
    round_id: uuid.UUID, session: SessionDep, _user: CurrentUser, locale: LocaleDep
) -> Response:
    notice = announce.announcement(session, round_id)
    try:
        body = announce.to_pdf(notice, locale)
    except announce.ThaiFontMissing as exc:
        raise ApiError(503, "thai_font_missing", "eligibility.thai_font_missing") from exc
    return Response(
        body,
        media_type="application/pdf",
        headers={"Content-Disposition": f'inline; filename="announcement-{round_id}.pdf"'},
    )


# --- installation tasks --------------------------------------------------------------------


@router.get("/installation-tasks")
def list_tasks(
    session: SessionDep,
    user: Installer,
    rid: RequestId,
    round_id: uuid.UUID | None = None,
    status: TaskStatus | None = None,
    page: Annotated[int, Query(ge=1, le=MAX_PAGE)] = 1,
    page_size: Annotated[int, Query(ge=1, le=500)] = 200,
) -> list[TaskOut]:
    return committee.list_tasks(
        session, user=user, round_id=round_id, status=status, limit=page_size,
        offset=(page - 1) * page_size, request_id=rid,
    )  # fmt: skip


@router.post("/installation-tasks/{task_id}/complete")
def complete_task(
    task_id: uuid.UUID, session: SessionDep, user: Installer, rid: RequestId,
    body: TaskDoneIn | None = None,
) -> TaskOut:  # fmt: skip
    task = committee.complete_task(
        session, user=user, task_id=task_id, note=body.note if body else None, request_id=rid
    )
    application = session.get(Application, task.application_id)
    assert application is not None
    return TaskOut(
        id=task.id, elder_id=task.elder_id, round_id=task.round_id,
        application_number=application.number, name=service.full_name(application),
        kind=task.kind, status=task.status, note=task.note, done_by=task.done_by,
        done_at=task.done_at,
    )  # fmt: skip
