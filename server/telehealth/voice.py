"""Voice notes: audio attached to a visit or a consultation.

The body is the raw audio (`Content-Type: audio/webm`, ...). Its type is checked twice: the
declared type must be one we accept, and the first bytes must be that format's signature,
so a renamed file of another kind is refused. Audio is stored under the voice directory by
id (or in the database, by setting), and streamed back with HTTP Range support.
"""

from __future__ import annotations

import hashlib
import os
import re
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from sqlmodel import Session

from server.audit import service as audit
from server.auth.models import Role, User
from server.care.access import elder_for
from server.care.models import Consult, Visit, VoiceNote, VoicePurpose
from server.care.schemas import VoiceNoteOut
from server.care.seq import next_seq
from server.common.time import utcnow
from server.config import Settings
from server.errors import ApiError

AUDIO_TYPES: dict[str, str] = {
    "audio/webm": "webm",
    "audio/ogg": "ogg",
    "audio/mpeg": "mp3",
    "audio/mp4": "m4a",
    "audio/wav": "wav",
}
ALIASES = {
    "audio/x-wav": "audio/wav",
    "audio/wave": "audio/wav",
    "audio/vnd.wave": "audio/wav",
    "audio/x-m4a": "audio/mp4",
    "audio/m4a": "audio/mp4",
    "audio/mp3": "audio/mpeg",
    "application/ogg": "audio/ogg",
}
SNIFF_BYTES = 16
CHUNK = 64 * 1024


def normalise_type(header: str | None) -> str | None:
    """The accepted audio type named by a Content-Type header (parameters ignored)."""
    if not header:
        return None
    base = header.split(";", 1)[0].strip().lower()
    base = ALIASES.get(base, base)
    return base if base in AUDIO_TYPES else None


def accepted_type(header: str | None) -> str:
    """The accepted audio type a Content-Type header names, or a refusal that lists them."""
    declared = normalise_type(header)
    if declared is None:
        raise ApiError(
            415, "unsupported_audio", "telehealth.voice.unsupported_type",
            types=", ".join(AUDIO_TYPES),
        )  # fmt: skip
    return declared


# ISO base-media brands of images: a phone photo renamed .m4a must not pass for audio.
IMAGE_BRANDS = frozenset({b"heic", b"heix", b"hevc", b"hevx", b"mif1", b"msf1", b"avif", b"avis"})


def sniff(head: bytes) -> str | None:
    """The audio type that the first bytes of a file show, if any we accept."""
    if head.startswith(b"\x1a\x45\xdf\xa3"):
        return "audio/webm"  # EBML (WebM/Matroska)
    if head.startswith(b"OggS"):
        return "audio/ogg"
    if head.startswith(b"RIFF") and head[8:12] == b"WAVE":
        return "audio/wav"
    if head[4:8] == b"ftyp":
        # An ISO media file: audio unless its brand says it is a still image (HEIC, AVIF).
        return None if head[8:12] in IMAGE_BRANDS else "audio/mp4"
    if head.startswith(b"ID3") or (len(head) >= 2 and head[0] == 0xFF and head[1] & 0xE0 == 0xE0):
        return "audio/mpeg"  # ID3 tag or an MPEG audio frame sync
    return None


def voice_dir(settings: Settings) -> Path:
    return settings.voice_dir or settings.data_dir / "voice"


def note_out(note: VoiceNote, *, created: bool = True) -> VoiceNoteOut:
    return VoiceNoteOut.model_validate({**note.model_dump(exclude={"data"}), "created": created})


@dataclass(frozen=True)
class Owner:
    kind: str  # "visit" or "consult"
    id: uuid.UUID


def owner_elder(session: Session, *, user: User, owner: Owner) -> uuid.UUID:
    """The elder the visit or consultation is about; 404 unless `user` may see them."""
    row: Visit | Consult | None = (
        session.get(Visit, owner.id) if owner.kind == "visit" else session.get(Consult, owner.id)
    )
    if row is None:
        raise ApiError(404, "not_found", "common.not_found")
    return elder_for(session, user=user, elder_id=row.elder_id).id


def _belongs(note: VoiceNote, owner: Owner) -> bool:
    return (note.visit_id if owner.kind == "visit" else note.consult_id) == owner.id


@dataclass(frozen=True)
class UploadPlan:
    note_id: uuid.UUID
    elder_id: uuid.UUID
    content_type: str
    existing: bool  # metadata came first (by sync); this upload brings the bytes


def check_purpose(user: User, purpose: VoicePurpose) -> None:
    """Only a clinician's voice is filed as advice: a caregiver's note never passes for it."""
    if purpose == VoicePurpose.ADVICE and user.role != Role.CLINICIAN:
        raise ApiError(403, "advice_clinician_only", "security.advice_clinician_only",
                       field="purpose")  # fmt: skip


def prepare_upload(
    session: Session,
    *,
    user: User,
    owner: Owner,
    note_id: uuid.UUID | None,
    content_type: str | None,
    purpose: VoicePurpose | None = None,
) -> UploadPlan | VoiceNote:
    """Checks before reading the body. Returns the stored note if this id is already here."""
    if purpose is not None:
        check_purpose(user, purpose)
    declared = accepted_type(content_type)
    elder_id = owner_elder(session, user=user, owner=owner)
    existing = session.get(VoiceNote, note_id) if note_id else None
    if existing is not None:
        if existing.elder_id != elder_id or not _belongs(existing, owner):
            raise ApiError(409, "id_in_use", "common.id_in_use", field="id")
        if existing.stored:
            return existing
    return UploadPlan(
        note_id=note_id or uuid.uuid4(),
        elder_id=elder_id,
        content_type=declared,
        existing=existing is not None,
    )


@dataclass(frozen=True)
class Received:
    path: Path
    size: int
    sha256: str
    sniffed: str | None


async def receive(
    chunks: AsyncIterator[bytes], *, settings: Settings, plan: UploadPlan
) -> Received:
    """Streams the body to a temporary file in the voice directory, within the size limit."""
    directory = voice_dir(settings)
    directory.mkdir(parents=True, exist_ok=True)
    temp = directory / f".{plan.note_id}.{uuid.uuid4().hex}.part"
    digest = hashlib.sha256()
    size = 0
    head = b""
    try:
        with temp.open("wb") as out:
            async for chunk in chunks:
                if not chunk:
                    continue
                size += len(chunk)
                if size > settings.voice_max_bytes:
                    raise ApiError(
                        413, "body_too_large", "common.body_too_large",
                        limit=settings.voice_max_bytes,
                    )  # fmt: skip
                if len(head) < SNIFF_BYTES:
                    head += chunk[: SNIFF_BYTES - len(head)]
                digest.update(chunk)
                out.write(chunk)
    except BaseException:
        temp.unlink(missing_ok=True)
        raise
    return Received(path=temp, size=size, sha256=digest.hexdigest(), sniffed=sniff(head))


def finish_upload(
    session: Session,
    *,
    settings: Settings,
    user: User,
    owner: Owner,
    plan: UploadPlan,
    received: Received,
    purpose: VoicePurpose,
    duration_s: float | None,
    recorded_at: datetime | None,
    request_id: str | None,
) -> VoiceNote:
    try:
        check_purpose(user, purpose)
        if received.size == 0:
            raise ApiError(422, "empty_audio", "telehealth.voice.empty")
        if received.sniffed != plan.content_type:
            raise ApiError(
                415, "audio_type_mismatch", "telehealth.voice.type_mismatch",
                declared=plan.content_type, found=received.sniffed or "?",
            )  # fmt: skip
        note = session.get(VoiceNote, plan.note_id) if plan.existing else None
        if note is None:
            note = VoiceNote(
                id=plan.note_id,
                elder_id=plan.elder_id,
                visit_id=owner.id if owner.kind == "visit" else None,
                consult_id=owner.id if owner.kind == "consult" else None,
                author_id=user.id,
                purpose=purpose,
                content_type=plan.content_type,
                recorded_at=recorded_at or utcnow(),
            )
        note.content_type = plan.content_type
        note.size = received.size
        note.sha256 = received.sha256
        note.duration_s = duration_s if duration_s is not None else note.duration_s
        note.stored = True
        if settings.voice_in_database:
            note.storage = "db"
            note.data = received.path.read_bytes()
        else:
            note.storage = "file"
            os.replace(received.path, voice_dir(settings) / str(note.id))
        note.seq = next_seq(session)
        session.add(note)
        audit.record(
            session, actor=user, action="create", entity="voice_note", entity_id=note.id,
            elder_id=note.elder_id, fields=["audio"], request_id=request_id,
            detail={"size": received.size, "type": plan.content_type},
        )  # fmt: skip
        session.flush()
        return note
    finally:
        received.path.unlink(missing_ok=True)


def register_metadata(
    session: Session,
    *,
    user: User,
    note_id: uuid.UUID,
    owner: Owner,
    content_type: str,
    purpose: VoicePurpose,
    size: int | None,
    duration_s: float | None,
    recorded_at: datetime,
) -> tuple[VoiceNote, bool]:
    """A voice note recorded offline: the record first (by sync), the audio when uploaded."""
    check_purpose(user, purpose)
    declared = accepted_type(content_type)
    elder_id = owner_elder(session, user=user, owner=owner)
    existing = session.get(VoiceNote, note_id)
    if existing is not None:
        if existing.elder_id != elder_id or not _belongs(existing, owner):
            raise ApiError(409, "id_in_use", "common.id_in_use", field="id")
        return existing, False
    note = VoiceNote(
        id=note_id,
        elder_id=elder_id,
        visit_id=owner.id if owner.kind == "visit" else None,
        consult_id=owner.id if owner.kind == "consult" else None,
        author_id=user.id,
        purpose=purpose,
        content_type=declared,
        size=size,
        duration_s=duration_s,
        recorded_at=recorded_at,
        seq=next_seq(session),
    )
    session.add(note)
    return note, True


class RangeNotSatisfiable(Exception):
    pass


_RANGE = re.compile(r"^bytes=(\d*)-(\d*)$")


def parse_range(header: str | None, size: int) -> tuple[int, int] | None:
    """(first, last) inclusive for a single byte range; None for the whole file."""
    if not header:
        return None
    match = _RANGE.match(header.strip())
    if match is None:
        return None  # a multi-range or unknown unit: RFC 9110 lets us send the whole file
    first, last = match.groups()
    if first == "" and last == "":
        raise RangeNotSatisfiable
    if first == "":
        length = int(last)
        if length == 0:
            raise RangeNotSatisfiable
        return max(0, size - length), size - 1
    start = int(first)
    end = int(last) if last else size - 1
    if start >= size or end < start:
        raise RangeNotSatisfiable
    return start, min(end, size - 1)


def open_note(
    session: Session,
    *,
    user: User,
    owner: Owner,
    note_id: uuid.UUID,
    request_id: str | None,
) -> VoiceNote:
    """The note for playback; the read is audited (a person heard an elder's health data)."""
    owner_elder(session, user=user, owner=owner)
    note = session.get(VoiceNote, note_id)
    if note is None or not _belongs(note, owner):
        raise ApiError(404, "not_found", "common.not_found")
    if not note.stored:
        raise ApiError(409, "audio_not_uploaded", "telehealth.voice.not_uploaded")
    audit.record_reads(
        session, actor=user, entity="voice_note", elder_ids=[note.elder_id], fields=["audio"],
        request_id=request_id,
    )  # fmt: skip
    return note


def read_bytes(note: VoiceNote, *, settings: Settings, first: int, last: int) -> Iterator[bytes]:
    if note.storage == "db":
        data = note.data or b""
        yield data[first : last + 1]
        return
    with (voice_dir(settings) / str(note.id)).open("rb") as source:
        source.seek(first)
        remaining = last - first + 1
        while remaining > 0:
            chunk = source.read(min(CHUNK, remaining))
            if not chunk:
                return
            remaining -= len(chunk)
            yield chunk


# The voice-note upload routes, as full-path patterns: only these get the voice limit (each
# upload is also counted as it streams); every other route keeps the general body limit.
VOICE_UPLOAD_PATHS = (
    r"/api/v1/visits/[^/]+/voice-notes",
    r"/api/v1/consults/[^/]+/voice-notes",
)


def body_limit_overrides(settings: Settings) -> dict[str, int]:
    """The upload routes only (full-path patterns): every other route keeps the 1 MiB limit."""
    return {pattern: settings.voice_max_bytes for pattern in VOICE_UPLOAD_PATHS}
