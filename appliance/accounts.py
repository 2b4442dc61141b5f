"""Users (argon2 password hashes, lock-out) and API tokens (shown once, stored as sha256)."""
from __future__ import annotations

import hashlib
import re
import secrets
from datetime import datetime, timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from . import audit, sql
from .db import write_transaction
from .errors import Conflict, Invalid, NotFound, Unauthorized
from .models import ROLES, ApiToken, User, utcnow

_hasher = PasswordHasher()
USERNAME_RE = re.compile(r"^[a-z0-9][a-z0-9._-]{1,63}$")
MIN_PASSWORD = 10
TOKEN_PREFIX = "sat_"
ROLE_RANK = {role: rank for rank, role in enumerate(ROLES)}


def role_allows(role: str, needed: str) -> bool:
    """Roles are nested: admin can do what a manager can, a manager what staff can."""
    return ROLE_RANK.get(role, -1) >= ROLE_RANK[needed]


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def _check_password(password: str) -> None:
    if len(password) < MIN_PASSWORD:
        raise Invalid(f"Password must have at least {MIN_PASSWORD} characters.",
                      [{"field": "password", "message": f"at least {MIN_PASSWORD} characters"}])


def _check_role(role: str) -> None:
    if role not in ROLES:
        raise Invalid(f"Role must be one of {', '.join(ROLES)} (got {role!r}).",
                      [{"field": "role", "message": "unknown role"}])


def create_user(username: str, password: str, role: str, actor: str,
                password_hash: str | None = None) -> User:
    username = username.strip().lower()
    if not USERNAME_RE.match(username):
        raise Invalid("Username must be 2-64 characters: lower-case letters, digits, dot, dash, underscore.",
                      [{"field": "username", "message": "invalid"}])
    _check_role(role)
    if password_hash is None:
        _check_password(password)
        password_hash = hash_password(password)
    with write_transaction():
        if User.select().where(User.username == username).exists():
            raise Conflict(f"User {username} already exists.")
        user = User.create(username=username, password_hash=password_hash, role=role)
        audit.record(actor, "user.create", "user", username, after={"role": role})
    return user


def get_user(username: str) -> User:
    user = User.get_or_none(User.username == username.strip().lower())
    if user is None:
        raise NotFound(f"No user {username}.")
    return user


def authenticate(username: str, password: str, max_failures: int, lockout_minutes: int) -> User:
    """Checks a sign-in; counts failures and locks the account after `max_failures` in a row."""
    now = utcnow()
    user = User.get_or_none(User.username == username.strip().lower())
    if user is None or not user.active:
        _hasher.hash(password)  # same cost either way: no user enumeration by timing
        raise Unauthorized("Wrong username or password.")
    if user.locked_until and user.locked_until > now:
        minutes = max(1, int((user.locked_until - now).total_seconds() // 60) + 1)
        raise Unauthorized(f"Account locked after too many failed sign-ins; try again in {minutes} minutes.")
    try:
        _hasher.verify(user.password_hash, password)
    except (VerificationError, InvalidHashError):
        failures = user.failed_logins + 1
        locked_until = now + timedelta(minutes=lockout_minutes) if failures >= max_failures else None
        with write_transaction():
            User.update(failed_logins=0 if locked_until else failures, locked_until=locked_until) \
                .where(User.id == user.id).execute()
            if locked_until:
                audit.record("system", "user.lock", "user", user.username, after={"until": locked_until})
        if locked_until:
            raise Unauthorized(f"Account locked after too many failed sign-ins; try again in {lockout_minutes} minutes.")
        raise Unauthorized("Wrong username or password.")
    if user.failed_logins or user.locked_until:
        User.update(failed_logins=0, locked_until=None).where(User.id == user.id).execute()
    return user


def set_password(username: str, password: str, actor: str) -> None:
    _check_password(password)
    user = get_user(username)
    with write_transaction():
        User.update(password_hash=hash_password(password), password_changed_at=utcnow(),
                    failed_logins=0, locked_until=None).where(User.id == user.id).execute()
        audit.record(actor, "user.password", "user", user.username)


def change_own_password(user: User, current: str, new: str) -> None:
    try:
        _hasher.verify(user.password_hash, current)
    except (VerificationError, InvalidHashError):
        raise Invalid("Current password is wrong.", [{"field": "current_password", "message": "wrong"}]) from None
    set_password(user.username, new, user.username)


def set_active(username: str, active: bool, actor: str) -> None:
    user = get_user(username)
    with write_transaction():
        User.update(active=active).where(User.id == user.id).execute()
        audit.record(actor, "user.enable" if active else "user.disable", "user", user.username)


def set_role(username: str, role: str, actor: str) -> None:
    _check_role(role)
    user = get_user(username)
    with write_transaction():
        User.update(role=role).where(User.id == user.id).execute()
        audit.record(actor, "user.role", "user", user.username, before={"role": user.role}, after={"role": role})


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def create_token(name: str, role: str, actor: str) -> tuple[ApiToken, str]:
    """Returns the token row and the plaintext, which is never stored or shown again."""
    _check_role(role)
    name = name.strip()
    if not name or len(name) > 64:
        raise Invalid("Token name must be 1-64 characters.", [{"field": "name", "message": "invalid"}])
    plaintext = TOKEN_PREFIX + secrets.token_urlsafe(32)
    with write_transaction():
        if ApiToken.select().where(ApiToken.name == name).exists():
            raise Conflict(f"A token named {name} already exists.")
        token = ApiToken.create(name=name, token_hash=_token_hash(plaintext), prefix=plaintext[:8],
                                role=role, created_by=actor)
        audit.record(actor, "token.create", "token", name, after={"role": role})
    return token, plaintext


_ACTIVE_TOKEN = "SELECT id, name, role, last_used_at FROM api_token WHERE token_hash = ? AND revoked_at IS NULL"


def token_for(plaintext: str) -> ApiToken | None:
    """The active token with this plaintext, or None. Runs on every API request: plain SQL."""
    row = sql.one(_ACTIVE_TOKEN, (_token_hash(plaintext),))
    if row is None:
        return None
    token_id, name, role, last_used_at = row
    if isinstance(last_used_at, str):  # SQLite hands back the stored text
        last_used_at = datetime.fromisoformat(last_used_at)
    now = utcnow()
    # Touch last_used at most once a minute: a write per request would halve throughput.
    if last_used_at is None or now - last_used_at > timedelta(minutes=1):
        ApiToken.update(last_used_at=now).where(ApiToken.id == token_id).execute()
    return ApiToken(id=token_id, name=name, role=role, last_used_at=last_used_at)


def revoke_token(name: str, actor: str) -> None:
    with write_transaction():
        changed = ApiToken.update(revoked_at=utcnow()).where(
            (ApiToken.name == name) & ApiToken.revoked_at.is_null()).execute()
        if changed != 1:
            raise NotFound(f"No active token named {name}.")
        audit.record(actor, "token.revoke", "token", name)
