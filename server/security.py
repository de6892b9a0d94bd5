"""Hashing of secrets: people's passwords and home-hub tokens.

Below every domain: auth checks passwords with it and devices check hub tokens with it,
so neither has to import the other for a hash.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

_hasher = PasswordHasher()
HUB_TOKEN_PREFIX = "hub_"


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(password_hash: str, password: str) -> bool:
    try:
        return _hasher.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def token_digest(token: str) -> str:
    # Hub tokens are 256-bit random, so a fast hash is enough (no dictionary to attack).
    return hashlib.sha256(token.encode()).hexdigest()


@dataclass(frozen=True)
class NewHubToken:
    token: str  # shown once, never stored
    digest: str
    prefix: str  # the first characters, so an admin can tell tokens apart


def new_hub_token() -> NewHubToken:
    token = HUB_TOKEN_PREFIX + secrets.token_urlsafe(32)
    return NewHubToken(
        token=token, digest=token_digest(token), prefix=token[: len(HUB_TOKEN_PREFIX) + 6]
    )


def looks_like_hub_token(token: str) -> bool:
    return token.startswith(HUB_TOKEN_PREFIX)
