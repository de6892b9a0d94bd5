from __future__ import annotations

import uuid

from pydantic import BaseModel, Field

from server.auth.models import Role


class TokenOut(BaseModel):
    access_token: str
    token_type: str = "bearer"


class UserOut(BaseModel):
    id: uuid.UUID
    username: str
    full_name: str
    role: Role
    locale: str | None
    phone: str | None
    active: bool


class UserCreate(BaseModel):
    username: str = Field(min_length=3, max_length=64, pattern=r"^[a-zA-Z0-9_.-]+$")
    password: str = Field(min_length=8, max_length=128)
    full_name: str = Field(min_length=1, max_length=200)
    role: Role
    locale: str | None = Field(default=None, pattern="^(th|en)$")
    phone: str | None = Field(default=None, max_length=32)


class UserUpdate(BaseModel):
    full_name: str | None = Field(default=None, min_length=1, max_length=200)
    role: Role | None = None
    locale: str | None = Field(default=None, pattern="^(th|en)$")
    phone: str | None = Field(default=None, max_length=32)
    active: bool | None = None
    password: str | None = Field(default=None, min_length=8, max_length=128)


class MeUpdate(BaseModel):
    locale: str | None = Field(pattern="^(th|en)$")


class PasswordChange(BaseModel):
    current_password: str = Field(min_length=1, max_length=128)
    new_password: str = Field(min_length=8, max_length=128)
