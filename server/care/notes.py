"""Free notes about an elder, at a visit or a consultation: written once, never edited."""

from __future__ import annotations

import uuid

from sqlmodel import Session

from server.audit import service as audit
from server.auth.models import User
from server.care.access import elder_for
from server.care.models import CareNote, Consult, Visit
from server.care.schemas import NoteIn, NoteOut
from server.care.seq import next_seq
from server.common.time import utcnow
from server.elders.models import Elder
from server.errors import ApiError


def note_out(note: CareNote) -> NoteOut:
    return NoteOut.model_validate(note.model_dump())


def add_note(
    session: Session, *, user: User, note_id: uuid.UUID, data: NoteIn, request_id: str | None
) -> tuple[CareNote, bool]:
    """Idempotent on the client's id. Adds to the session; the caller commits."""
    elder = elder_for(session, user=user, elder_id=data.elder_id)
    existing = session.get(CareNote, note_id)
    if existing is not None:
        if existing.elder_id != elder.id:
            raise ApiError(409, "id_in_use", "common.id_in_use", field="id")
        return existing, False
    owners: list[Visit | Consult | None] = []
    if data.visit_id is not None:
        owners.append(session.get(Visit, data.visit_id))
    if data.consult_id is not None:
        owners.append(session.get(Consult, data.consult_id))
    if any(row is None or row.elder_id != elder.id for row in owners):
        raise ApiError(422, "visit_of_other_elder", "care.visit_of_other_elder")
    return new_note(session, user=user, elder=elder, note_id=note_id, data=data,
                    request_id=request_id), True  # fmt: skip


def new_note(
    session: Session,
    *,
    user: User,
    elder: Elder,
    note_id: uuid.UUID,
    data: NoteIn,
    request_id: str | None,
) -> CareNote:
    """The note of `add_note` once its id is known to be new and its visit or consultation
    to be this elder's. Adds to the session."""
    note = CareNote(
        id=note_id,
        elder_id=elder.id,
        visit_id=data.visit_id,
        consult_id=data.consult_id,
        author_id=user.id,
        text=data.text,
        written_at=data.written_at or utcnow(),
        seq=next_seq(session),
    )
    session.add(note)
    audit.record(
        session, actor=user, action="create", entity="care_note", entity_id=note.id,
        elder_id=elder.id, fields=["text"], request_id=request_id,
    )  # fmt: skip
    return note
