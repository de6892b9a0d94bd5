"""People's logins: accounts, login throttling, bearer tokens, browser sessions, CSRF."""

from __future__ import annotations

import functools
import hashlib
import hmac
import logging
import secrets
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

import sqlalchemy as sa
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer
from sqlmodel import Session, col, func, select

from server.auth.models import AuthSession, LoginAttempt, Role, User
from server.common.time import as_utc, utcnow
from server.config import Settings
from server.security import hash_password, verify_password

log = logging.getLogger(__name__)


def create_user(
    session: Session,
    *,
    username: str,
    password: str,
    full_name: str,
    role: Role,
    locale: str | None = None,
    phone: str | None = None,
) -> User:
    user = User(
        username=username.strip().lower(),
        password_hash=hash_password(password),
        full_name=full_name,
        role=role,
        locale=locale,
        phone=phone,
    )
    session.add(user)
    session.flush()
    return user


def get_user_by_username(session: Session, username: str) -> User | None:
    return session.exec(select(User).where(User.username == username.strip().lower())).first()


# --- login throttling ---------------------------------------------------------------


@dataclass(frozen=True)
class LoginResult:
    user: User | None
    retry_after: int = 0  # seconds; > 0 means "slow down", the password was not even checked


def _backoff(count: int, last: datetime | None, *, free: int, settings: Settings) -> int:
    extra = count - free
    if extra < 0 or last is None:
        return 0
    wait = min(2**extra, settings.login_max_delay_seconds)
    remaining = wait - (utcnow() - as_utc(last)).total_seconds()
    return max(0, int(remaining + 0.999))


def login_delay(session: Session, *, username: str, ip: str | None, settings: Settings) -> int:
    """Seconds this attempt must still wait.

    Failures count against the pair (username, address) and against the address across all
    usernames, never against the username alone: someone guessing a dispatcher's password from
    elsewhere cannot lock the dispatcher out, and spraying many names from one address slows
    down after a few tries per name, a few more in all."""
    since = utcnow() - timedelta(minutes=settings.login_window_minutes)
    failed = (col(LoginAttempt.success).is_(False), LoginAttempt.at >= since)
    ip_match = LoginAttempt.ip == ip if ip is not None else col(LoginAttempt.ip).is_(None)
    pair_count, pair_last = session.exec(
        select(func.count(), func.max(LoginAttempt.at)).where(
            LoginAttempt.username == username, ip_match, *failed
        )
    ).one()
    ip_count, ip_last = session.exec(
        select(func.count(), func.max(LoginAttempt.at)).where(ip_match, *failed)
    ).one()
    return max(
        _backoff(pair_count, pair_last, free=settings.login_free_failures, settings=settings),
        _backoff(
            ip_count, ip_last, free=settings.login_free_failures_per_address, settings=settings
        ),
    )


# Verified against when the username is unknown, so a missing user costs the same time as a
# wrong password (otherwise the reply time tells which usernames exist).
_DUMMY_HASH = hash_password(secrets.token_urlsafe(16))


def authenticate(
    session: Session, *, username: str, password: str, ip: str | None, settings: Settings
) -> LoginResult:
    username = username.strip().lower()[:64]
    ip = ip[:64] if ip else None
    wait = login_delay(session, username=username, ip=ip, settings=settings)
    if wait > 0:
        log.warning("login throttled username=%s ip=%s wait=%ss", username, ip, wait)
        return LoginResult(user=None, retry_after=wait)
    user = get_user_by_username(session, username)
    if user is None:
        verify_password(_DUMMY_HASH, password)
        ok = False
    else:
        ok = verify_password(user.password_hash, password) and user.active
    session.add(LoginAttempt(username=username, ip=ip, success=ok))
    session.flush()
    if not ok:
        log.warning("login failed username=%s ip=%s", username, ip)
        return LoginResult(user=None)
    return LoginResult(user=user)


# --- bearer tokens and browser sessions ----------------------------------------------


def token_serializer(settings: Settings, purpose: str) -> URLSafeTimedSerializer:
    """Signs and reads this server's tokens; each purpose (api, session) has its own salt, so
    a token of one is never accepted as the other."""
    return URLSafeTimedSerializer(settings.secret_key, salt=f"eldercare.{purpose}")


def issue_token(
    session: Session,
    user: User,
    *,
    settings: Settings,
    purpose: str = "api",
    ip: str | None = None,
) -> str:
    """Starts a server-side session and returns its signed token. Adds; the caller commits."""
    now = utcnow()
    row = AuthSession(
        user_id=user.id,
        purpose=purpose,
        created_at=now,
        expires_at=now + timedelta(hours=settings.token_ttl_hours),
        ip=ip[:64] if ip else None,
    )
    session.add(row)
    session.flush()
    return token_serializer(settings, purpose).dumps(
        {"u": str(user.id), "v": user.token_version, "s": str(row.id)}
    )


def _token_data(token: str, *, settings: Settings, purpose: str) -> tuple[uuid.UUID, uuid.UUID]:
    data = token_serializer(settings, purpose).loads(token, max_age=settings.token_ttl_hours * 3600)
    return uuid.UUID(data["u"]), uuid.UUID(data["s"])


def session_id_of(token: str, *, settings: Settings, purpose: str = "api") -> uuid.UUID | None:
    try:
        return _token_data(token, settings=settings, purpose=purpose)[1]
    except (BadSignature, SignatureExpired, KeyError, TypeError, ValueError):
        return None


def user_from_token(
    session: Session, token: str, *, settings: Settings, purpose: str = "api"
) -> User | None:
    """The user a token speaks for, if its session still stands: two primary-key reads."""
    try:
        data = token_serializer(settings, purpose).loads(
            token, max_age=settings.token_ttl_hours * 3600
        )
        user_id, session_id = uuid.UUID(data["u"]), uuid.UUID(data["s"])
    except (BadSignature, SignatureExpired, KeyError, TypeError, ValueError):
        return None
    row = session.get(AuthSession, session_id)
    if (
        row is None
        or row.revoked_at is not None
        or row.user_id != user_id
        or row.purpose != purpose
        or as_utc(row.expires_at) <= utcnow()
    ):
        return None
    user = session.get(User, user_id)
    if user is None or not user.active or user.token_version != data.get("v"):
        return None
    return user


def end_session(session: Session, *, session_id: uuid.UUID, reason: str = "logout") -> bool:
    """Revokes one session (logout). Adds; the caller commits."""
    result = session.execute(
        sa.update(AuthSession)
        .where(col(AuthSession.id) == session_id, col(AuthSession.revoked_at).is_(None))
        .values(revoked_at=utcnow(), revoked_reason=reason)
    )
    return bool(result.rowcount)  # type: ignore[attr-defined]


def end_all_sessions(session: Session, *, user: User, reason: str) -> None:
    """Ends every session and token a user holds (password, deactivation, role change).
    Bumping the version also kills tokens that are in flight. Adds; the caller commits."""
    user.token_version += 1
    session.add(user)
    session.execute(
        sa.update(AuthSession)
        .where(col(AuthSession.user_id) == user.id, col(AuthSession.revoked_at).is_(None))
        .values(revoked_at=utcnow(), revoked_reason=reason)
    )


def prune_auth_records(session: Session, *, keep_days: int = 90) -> tuple[int, int]:
    """Retention (docs/privacy.md): login attempts, and sessions that ended, are kept
    `keep_days` for investigating an incident, then deleted. Adds; the caller commits."""
    cutoff = utcnow() - timedelta(days=keep_days)
    attempts = session.execute(sa.delete(LoginAttempt).where(col(LoginAttempt.at) < cutoff))
    ended = session.execute(
        sa.delete(AuthSession).where(
            sa.or_(
                col(AuthSession.expires_at) < cutoff,
                sa.and_(
                    col(AuthSession.revoked_at).is_not(None), col(AuthSession.revoked_at) < cutoff
                ),
            )
        )
    )
    return attempts.rowcount or 0, ended.rowcount or 0  # type: ignore[attr-defined]


# --- password policy ---------------------------------------------------------------------

PASSWORD_MIN_LENGTH = 8
_COMMON_PATH = Path(__file__).with_name("common_passwords.txt")


@functools.cache
def _common_passwords() -> frozenset[str]:
    lines = _COMMON_PATH.read_text(encoding="utf-8").splitlines()
    return frozenset(line.strip().lower() for line in lines if line.strip())


def password_problem(password: str, *, username: str | None) -> str | None:
    """The catalogue key saying why a password is refused, or None if it is acceptable."""
    lowered = password.strip().lower()
    if len(password) < PASSWORD_MIN_LENGTH:
        return "security.password.too_short"
    if username and (lowered == username.strip().lower() or username.strip().lower() in lowered):
        return "security.password.contains_username"
    if lowered in _common_passwords() or len(set(lowered)) < 3:
        return "security.password.too_common"
    return None


def csrf_token(session_token: str, *, settings: Settings) -> str:
    """Bound to the browser session, so a form from another site cannot carry it."""
    key = settings.secret_key.encode()
    return hmac.new(key, b"csrf:" + session_token.encode(), hashlib.sha256).hexdigest()


def csrf_valid(session_token: str, candidate: str | None, *, settings: Settings) -> bool:
    return bool(candidate) and hmac.compare_digest(
        csrf_token(session_token, settings=settings), candidate or ""
    )
