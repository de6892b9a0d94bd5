"""Rubric versions: the default rubric, creating and editing versions, reading them parsed."""

from __future__ import annotations

import json
import uuid
from collections.abc import Mapping
from functools import lru_cache
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session, col, select

from server.audit import service as audit
from server.auth.models import User
from server.db import updated_one
from server.eligibility import scoring
from server.eligibility.models import (
    RubricVersion,
)
from server.eligibility.schemas import (
    RubricOut,
)
from server.errors import ApiError

DEFAULT_RUBRIC = Path(__file__).parent / "default_rubric.json"


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
    session.flush()
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
    if not updated_one(
        session,
        sa.update(RubricVersion)
        .where(col(RubricVersion.id) == rubric_id, col(RubricVersion.locked_at).is_(None))
        .values(name=name, content=canonical, content_hash=digest),
    ):
        raise ApiError(409, "rubric_in_use", "eligibility.rubric_in_use", field="rubric_id")
    audit.record(
        session, actor=user, action="update", entity="eligibility_rubric", entity_id=rubric_id,
        request_id=request_id, detail={"hash_before": before, "hash_after": digest},
    )  # fmt: skip
    session.flush()
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
