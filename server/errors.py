"""API errors that name the problem (and the field) in the reader's language, and the one
shape every error answer has, as the OpenAPI schema documents it."""

from __future__ import annotations

import re
from typing import Any

from fastapi import HTTPException
from pydantic import BaseModel, ConfigDict
from sqlalchemy.exc import DataError, IntegrityError, OperationalError


class ApiError(HTTPException):
    def __init__(
        self,
        status_code: int,
        code: str,
        message_key: str,
        *,
        field: str | None = None,
        headers: dict[str, str] | None = None,
        extra: dict[str, Any] | None = None,
        **params: Any,
    ) -> None:
        super().__init__(status_code=status_code, detail=code, headers=headers)
        self.code = code
        self.message_key = message_key
        self.field = field
        self.params = params
        self.extra = extra or {}


class FieldErrorOut(BaseModel):
    """One field that failed validation."""

    field: str
    message: str
    type: str


class ErrorDetail(BaseModel):
    """What went wrong: a stable code, a message in the reader's language, the field when
    one is to blame, the failing fields of a validation error, and whatever else the error
    carries (e.g. an alert's current state on a 409)."""

    model_config = ConfigDict(extra="allow")

    code: str
    message: str
    field: str | None = None
    errors: list[FieldErrorOut] | None = None


class ErrorOut(BaseModel):
    detail: ErrorDetail


# Seconds a client is asked to wait while the database restarts or fails over (503).
DATABASE_RETRY_AFTER_S = 2


def database_down(exc: OperationalError) -> str:
    """The driver's first line about a database that is unavailable, for one log line."""
    return str(exc.orig).splitlines()[0] if exc.orig else type(exc).__name__


def _error(description: str) -> dict[str, Any]:
    return {"model": ErrorOut, "description": description}


# Every API router documents these: who is not logged in, not allowed, asks for what is not
# there (or not theirs to see), collides with the current state, or sends data that does not
# validate (the project's own shape, not FastAPI's default).
API_RESPONSES: dict[int | str, dict[str, Any]] = {
    401: _error("Not logged in, or the token or session has expired"),
    403: _error("The role or the assignment does not allow this"),
    404: _error("No such record, or not one the caller may see"),
    409: _error("The record's current state does not allow this"),
    413: _error("The request body is too large"),
    422: _error("The data is not valid; `field` or `errors` name what is wrong"),
}


# PostgreSQL names the column in the error's detail: 'Key (responder_id)=(…) is not present
# in table "responders".' SQLite names it only for UNIQUE ('UNIQUE constraint failed: t.c').
_PG_KEY = re.compile(r"Key \(([a-z_, ]+)\)=")
_SQLITE_UNIQUE = re.compile(r"UNIQUE constraint failed: [a-z_]+\.([a-z_]+)")


def from_integrity_error(exc: IntegrityError, *, field: str | None = None) -> ApiError:
    """The answer for a constraint the database refused that no check before it caught: a
    row named in the body that does not exist is the caller's mistake (422, naming the field
    where the database says which), a duplicate is a conflict (409). Never a 500."""
    orig = exc.orig
    sqlstate = getattr(orig, "sqlstate", None)
    text = str(orig)
    diag = getattr(orig, "diag", None)
    detail = getattr(diag, "message_detail", None) or text
    if sqlstate == "23505" or "UNIQUE constraint failed" in text:
        match = _PG_KEY.search(detail) or _SQLITE_UNIQUE.search(text)
        name = field or (match.group(1) if match else None)
        return ApiError(409, "duplicate", "errors.duplicate", field=name)
    if sqlstate == "23503" or "FOREIGN KEY constraint failed" in text:
        match = _PG_KEY.search(detail)
        name = field or (match.group(1) if match else None)
        return ApiError(422, "unknown_reference", "errors.unknown_reference", field=name)
    return ApiError(422, "constraint_failed", "errors.constraint_failed", field=field)


def from_data_error(exc: DataError) -> ApiError:
    """A value the database cannot hold (PostgreSQL: a NUL character in text, a number past
    its column's range) that validation let through: the caller's data, so a 422."""
    return ApiError(422, "unstorable_value", "errors.unstorable_value")
