"""People's logins: accounts, login throttling, bearer tokens, browser sessions, CSRF."""

from __future__ import annotations

import hashlib
import hmac
import logging
import uuid
from dataclasses import dataclass
from datetime import timedelta

from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer
from sqlmodel import Session, col, func, select

from server.auth.models import LoginAttempt, Role, User
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


def login_delay(session: Session, *, username: str, settings: Settings) -> int:
    """Seconds this username must still wait, given its recent failures."""
    since = utcnow() - timedelta(minutes=settings.login_window_minutes)
    failures = session.exec(
        select(func.count(), func.max(LoginAttempt.at)).where(
            LoginAttempt.username == username,
            col(LoginAttempt.success).is_(False),
            LoginAttempt.at >= since,
        )
    ).one()
    count, last = failures
    extra = count - settings.login_free_failures
    if extra < 0 or last is None:
        return 0
    wait = min(2**extra, settings.login_max_delay_seconds)
    remaining = wait - (utcnow() - as_utc(last)).total_seconds()
    return max(0, int(remaining + 0.999))


def authenticate(
    session: Session, *, username: str, password: str, ip: str | None, settings: Settings
) -> LoginResult:
    username = username.strip().lower()[:64]
    wait = login_delay(session, username=username, settings=settings)
    if wait > 0:
        log.warning("login throttled username=%s ip=%s wait=%ss", username, ip, wait)
        return LoginResult(user=None, retry_after=wait)
    user = get_user_by_username(session, username)
    ok = user is not None and user.active and verify_password(user.password_hash, password)
    session.add(LoginAttempt(username=username, ip=ip, success=ok))
    session.flush()
    if not ok:
        log.warning("login failed username=%s ip=%s", username, ip)
        return LoginResult(user=None)
    return LoginResult(user=user)


# --- bearer tokens and browser sessions ----------------------------------------------


def _serializer(settings: Settings, purpose: str) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(settings.secret_key, salt=f"eldercare.{purpose}")


def issue_token(user: User, *, settings: Settings, purpose: str = "api") -> str:
    return _serializer(settings, purpose).dumps({"u": str(user.id), "v": user.token_version})


def user_from_token(
    session: Session, token: str, *, settings: Settings, purpose: str = "api"
) -> User | None:
    try:
        data = _serializer(settings, purpose).loads(token, max_age=settings.token_ttl_hours * 3600)
        user_id = uuid.UUID(data["u"])
    except (BadSignature, SignatureExpired, KeyError, TypeError, ValueError):
        return None
    user = session.get(User, user_id)
    if user is None or not user.active or user.token_version != data.get("v"):
        return None
    return user


def csrf_token(session_token: str, *, settings: Settings) -> str:
    """Bound to the browser session, so a form from another site cannot carry it."""
    key = settings.secret_key.encode()
    return hmac.new(key, b"csrf:" + session_token.encode(), hashlib.sha256).hexdigest()


def csrf_valid(session_token: str, candidate: str | None, *, settings: Settings) -> bool:
    return bool(candidate) and hmac.compare_digest(
        csrf_token(session_token, settings=settings), candidate or ""
    )
