"""Consultations and voice notes (upload and ranged playback)."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request, Response
from fastapi.responses import StreamingResponse
from starlette.concurrency import run_in_threadpool

from server.auth.models import User
from server.care import access
from server.care.models import ConsultStatus, VoiceNote, VoicePurpose
from server.care.schemas import (
    ConsultAnswer,
    ConsultCreate,
    ConsultOut,
    VoiceNoteOut,
)
from server.deps import HandlerRoute, RequestId, SessionDep, SettingsDep, require_roles
from server.errors import ErrorOut
from server.telehealth import case, consults, voice
from server.telehealth.schemas import ConsultCase, QueueItem

router = APIRouter(route_class=HandlerRoute, prefix="/api/v1", tags=["visits"])

# The audio itself is the body: the schema names the types taken (FastAPI cannot infer it).
AUDIO_BODY: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "content": {
            t: {"schema": {"type": "string", "format": "binary"}} for t in voice.AUDIO_TYPES
        },
    }
}
UPLOAD: dict[int | str, dict[str, Any]] = {
    415: {
        "model": ErrorOut,
        "description": "Not an accepted audio type, or the bytes are not the type declared",
    },
}
_AUDIO_OUT = {t: {"schema": {"type": "string", "format": "binary"}} for t in voice.AUDIO_TYPES}
PLAYBACK: dict[int | str, dict[str, Any]] = {
    200: {"description": "The recording", "content": _AUDIO_OUT},
    206: {"description": "The range asked for", "content": _AUDIO_OUT},
    416: {"description": "A range outside the recording"},
}

ConsultReader = Annotated[User, Depends(require_roles(*access.CONSULT_READERS))]
ConsultRequester = Annotated[User, Depends(require_roles(*access.CONSULT_REQUESTERS))]
ConsultAnswerer = Annotated[User, Depends(require_roles(*access.CONSULT_ANSWERERS))]
ConsultCloser = Annotated[User, Depends(require_roles(*access.CONSULT_CLOSERS))]
VoiceWriter = Annotated[User, Depends(require_roles(*access.VOICE_WRITERS))]
VoiceReader = Annotated[User, Depends(require_roles(*access.VISIT_READERS))]


# --- consultations ----------------------------------------------------------------------


@router.get("/consults")
def list_consults(
    session: SessionDep,
    user: ConsultReader,
    rid: RequestId,
    status: ConsultStatus | None = None,
    elder_id: uuid.UUID | None = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 200,
    overdue: bool | None = None,
) -> list[ConsultOut]:
    """`overdue=true`: open questions waiting past their urgency's time (the care manager's
    list); every item carries `overdue` and `answer_due_by`."""
    return consults.list_consults(
        session, user=user, status=status, elder_id=elder_id, limit=limit, request_id=rid,
        overdue=overdue,
    )  # fmt: skip


@router.get("/consults/queue")
def consult_queue(
    session: SessionDep,
    user: ConsultReader,
    rid: RequestId,
    limit: Annotated[int, Query(ge=1, le=500)] = 200,
) -> list[QueueItem]:
    """The open questions with the elders' names: the clinician's queue in the care app."""
    return case.queue(session, user=user, limit=limit, request_id=rid)


@router.post("/consults", status_code=201)
def create_consult(
    body: ConsultCreate, session: SessionDep, user: ConsultRequester, rid: RequestId
) -> ConsultOut:
    consult, _created = consults.create_consult(session, user=user, data=body, request_id=rid)
    session.commit()
    return consults.consult_out(session, consult)


@router.get("/consults/{consult_id}")
def get_consult(
    consult_id: uuid.UUID, session: SessionDep, user: ConsultReader, rid: RequestId
) -> ConsultOut:
    return consults.read_consult(session, user=user, consult_id=consult_id, request_id=rid)


@router.get("/consults/{consult_id}/case")
def open_case(
    consult_id: uuid.UUID, session: SessionDep, user: ConsultReader, rid: RequestId
) -> ConsultCase:
    """The question with its elder, care plan, visit, voice notes and nearby readings."""
    return case.open_case(session, user=user, consult_id=consult_id, request_id=rid)


@router.post("/consults/{consult_id}/review")
def start_review(
    consult_id: uuid.UUID, session: SessionDep, user: ConsultAnswerer, rid: RequestId
) -> ConsultOut:
    consult = consults.start_review(session, user=user, consult_id=consult_id, request_id=rid)
    return consults.consult_out(session, consult)


@router.post("/consults/{consult_id}/answer")
def answer_consult(
    consult_id: uuid.UUID,
    body: ConsultAnswer,
    session: SessionDep,
    user: ConsultAnswerer,
    rid: RequestId,
) -> ConsultOut:
    consult = consults.answer(session, user=user, consult_id=consult_id, data=body, request_id=rid)
    return consults.consult_out(session, consult)


@router.post("/consults/{consult_id}/close")
def close_consult(
    consult_id: uuid.UUID, session: SessionDep, user: ConsultCloser, rid: RequestId
) -> ConsultOut:
    consult = consults.close(session, user=user, consult_id=consult_id, request_id=rid)
    return consults.consult_out(session, consult)


# --- voice notes ------------------------------------------------------------------------


async def _upload(
    request: Request,
    response: Response,
    session: SessionDep,
    settings: SettingsDep,
    user: User,
    rid: str,
    owner: voice.Owner,
    note_id: uuid.UUID | None,
    purpose: VoicePurpose,
    duration_s: float | None,
    recorded_at: datetime | None,
) -> VoiceNoteOut:
    prepared = await run_in_threadpool(
        voice.prepare_upload, session, user=user, owner=owner, note_id=note_id,
        content_type=request.headers.get("content-type"), purpose=purpose,
    )  # fmt: skip
    if isinstance(prepared, VoiceNote):
        # Already here (a re-sent upload): drain nothing more, answer with what is stored.
        response.status_code = 200
        return voice.note_out(prepared, created=False)
    received = await voice.receive(request.stream(), settings=settings, plan=prepared)
    note = await run_in_threadpool(
        voice.finish_upload, session, settings=settings, user=user, owner=owner, plan=prepared,
        received=received, purpose=purpose, duration_s=duration_s, recorded_at=recorded_at,
        request_id=rid,
    )  # fmt: skip
    return voice.note_out(note)


def _playback(
    request: Request, session: SessionDep, settings: SettingsDep, user: User, rid: str,
    owner: voice.Owner, note_id: uuid.UUID,
) -> Response:  # fmt: skip
    note = voice.open_note(session, user=user, owner=owner, note_id=note_id, request_id=rid)
    size = note.size or 0
    headers = {"Accept-Ranges": "bytes", "Cache-Control": "private, no-store"}
    try:
        wanted = voice.parse_range(request.headers.get("range"), size)
    except voice.RangeNotSatisfiable:
        return Response(status_code=416, headers={**headers, "Content-Range": f"bytes */{size}"})
    first, last = wanted if wanted else (0, size - 1)
    headers["Content-Length"] = str(last - first + 1)
    status = 200
    if wanted:
        status = 206
        headers["Content-Range"] = f"bytes {first}-{last}/{size}"
    return StreamingResponse(
        voice.read_bytes(note, settings=settings, first=first, last=last),
        status_code=status,
        media_type=note.content_type,
        headers=headers,
    )


@router.post(
    "/visits/{visit_id}/voice-notes", status_code=201, responses=UPLOAD, openapi_extra=AUDIO_BODY
)
async def upload_visit_voice(
    visit_id: uuid.UUID,
    request: Request,
    response: Response,
    session: SessionDep,
    settings: SettingsDep,
    user: VoiceWriter,
    rid: RequestId,
    id: uuid.UUID | None = None,
    purpose: VoicePurpose = VoicePurpose.NOTE,
    duration_s: Annotated[float | None, Query(ge=0, le=7200)] = None,
    recorded_at: datetime | None = None,
) -> VoiceNoteOut:
    """The raw audio is the body (`Content-Type: audio/webm`, ...)."""
    return await _upload(
        request, response, session, settings, user, rid, voice.Owner("visit", visit_id), id,
        purpose, duration_s, recorded_at,
    )  # fmt: skip


@router.get(
    "/visits/{visit_id}/voice-notes/{note_id}",
    response_class=StreamingResponse,
    responses=PLAYBACK,
)
def play_visit_voice(
    visit_id: uuid.UUID,
    note_id: uuid.UUID,
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    user: VoiceReader,
    rid: RequestId,
) -> Response:
    return _playback(request, session, settings, user, rid, voice.Owner("visit", visit_id), note_id)


@router.post(
    "/consults/{consult_id}/voice-notes",
    status_code=201,
    responses=UPLOAD,
    openapi_extra=AUDIO_BODY,
)
async def upload_consult_voice(
    consult_id: uuid.UUID,
    request: Request,
    response: Response,
    session: SessionDep,
    settings: SettingsDep,
    user: VoiceWriter,
    rid: RequestId,
    id: uuid.UUID | None = None,
    purpose: VoicePurpose = VoicePurpose.QUESTION,
    duration_s: Annotated[float | None, Query(ge=0, le=7200)] = None,
    recorded_at: datetime | None = None,
) -> VoiceNoteOut:
    """The raw audio is the body; a clinician's spoken advice uses purpose=advice."""
    return await _upload(
        request, response, session, settings, user, rid, voice.Owner("consult", consult_id), id,
        purpose, duration_s, recorded_at,
    )  # fmt: skip


@router.get(
    "/consults/{consult_id}/voice-notes/{note_id}",
    response_class=StreamingResponse,
    responses=PLAYBACK,
)
def play_consult_voice(
    consult_id: uuid.UUID,
    note_id: uuid.UUID,
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    user: ConsultReader,
    rid: RequestId,
) -> Response:
    return _playback(
        request, session, settings, user, rid, voice.Owner("consult", consult_id), note_id
    )
