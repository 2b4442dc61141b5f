"""Users (argon2 password hashes, throttled sign-in, server-side web sessions) and API tokens (shown once,
stored as sha256)."""
from __future__ import annotations

import hashlib
import logging
import re
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import NoReturn

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from . import audit, clock, passwords, sql
from .db import write_transaction
from .errors import Conflict, Invalid, NotFound, Unauthorized
from .models import ROLES, ApiToken, User, WebSession, utcnow

log = logging.getLogger(__name__)
_hasher = PasswordHasher()
USERNAME_RE = re.compile(r"^[a-z0-9][a-z0-9._-]{1,63}$")
MIN_PASSWORD = passwords.MIN_LENGTH
TOKEN_PREFIX = "sat_"
ROLE_RANK = {role: rank for rank, role in enumerate(ROLES)}


def role_allows(role: str, needed: str) -> bool:
    """Roles are nested: admin can do what a manager can, a manager what staff can."""
    return ROLE_RANK.get(role, -1) >= ROLE_RANK[needed]


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def _check_password(password: str, username: str = "") -> None:
    """Long enough, not a common password, not containing the user name (appliance/passwords.py)."""
    refused = passwords.problem(password, username)
    if refused:
        raise Invalid(refused, [{"field": "password", "message": refused}])


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
        _check_password(password, username)
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


# -- sign-in: throttled per address and per (user name, address), never a lock -----------------
#
# Every attempt first claims a slot from its address's throttle, then from the throttle of its user
# name at that address (kind "pair"), each with one conditional UPDATE that counts the attempt and
# proceeds only if one row changed (so parallel attempts cannot all read "4 failures" and all go on).
# After the free failures every counted attempt doubles the wait before the next one, up to a cap.
# Failures are never counted against a user name alone: guesses from elsewhere would then make the
# shop's till wait for its own shared login. An attacker's address and its pairs wait; the till's do
# not. A throttled attempt gets the same answer as a wrong password without its password being
# checked, known user or not.

SIGN_IN_FAILED = "Wrong username or password, or too many attempts: wait a moment and try again."


@dataclass(frozen=True)
class _Limit:
    free: int            # counted attempts before the first wait
    first_wait: int      # seconds
    max_wait: int        # seconds


_NEW_THROTTLE = ("INSERT INTO sign_in_throttle (kind, key, failures, wait_seconds, next_allowed_at, last_at) "
                 "VALUES (?, ?, 0, 0, 0, 0) ON CONFLICT (kind, key) DO NOTHING")
_FORGET = ("UPDATE sign_in_throttle SET failures = 0, wait_seconds = 0 "
           "WHERE kind = ? AND key = ? AND last_at < ? AND next_allowed_at <= ? AND failures > 0")
_WAIT = ("CASE WHEN failures + 1 < ? THEN 0 WHEN wait_seconds = 0 THEN ? "
         "WHEN wait_seconds * 2 > ? THEN ? ELSE wait_seconds * 2 END")
# A free attempt leaves next_allowed_at alone: moved to "now", it would refuse a parallel attempt whose
# own "now" was read a moment earlier.
_CLAIM = (f"UPDATE sign_in_throttle SET failures = failures + 1, wait_seconds = {_WAIT}, "
          f"next_allowed_at = CASE WHEN failures + 1 < ? THEN next_allowed_at ELSE ? + {_WAIT} END, last_at = ? "
          "WHERE kind = ? AND key = ? AND next_allowed_at <= ?")
_IS_WAITING = "SELECT 1 FROM sign_in_throttle WHERE kind = ? AND key = ? AND next_allowed_at > ?"
_RESET = "UPDATE sign_in_throttle SET failures = 0, wait_seconds = 0, next_allowed_at = 0 WHERE kind = ? AND key = ?"
# Every pair of one user name (its keys begin "name|"): substr works alike on SQLite and PostgreSQL.
_RESET_USER = ("UPDATE sign_in_throttle SET failures = 0, wait_seconds = 0, next_allowed_at = 0 "
               "WHERE kind = 'pair' AND substr(key, 1, ?) = ?")
_UNCOUNT = "UPDATE sign_in_throttle SET failures = failures - 1 WHERE kind = ? AND key = ? AND failures > 0"
_WAIT_FROM_NOW = ("UPDATE sign_in_throttle SET next_allowed_at = ? + wait_seconds "
                  "WHERE kind = ? AND key = ? AND wait_seconds > 0 AND next_allowed_at < ? + wait_seconds")
_PRUNE = "DELETE FROM sign_in_throttle WHERE last_at < ? AND next_allowed_at <= ?"


def _claim(kind: str, key: str, limit: _Limit, forget_seconds: int) -> bool:
    """Counts one attempt for (kind, key) and says whether it may go on (its wait had passed)."""
    now = clock.now().timestamp()
    if sql.one(_IS_WAITING, (kind, key, now)):
        return False  # waiting: refused without a write
    sql.run(_NEW_THROTTLE, (kind, key))
    sql.run(_FORGET, (kind, key, now - forget_seconds, now))
    wait = (limit.free, limit.first_wait, limit.max_wait, limit.max_wait)
    return sql.run(_CLAIM, (*wait, limit.free, now, *wait, now, kind, key, now)).rowcount == 1


def _dummy_hash() -> str:
    global _DUMMY_HASH
    if _DUMMY_HASH is None:
        _DUMMY_HASH = _hasher.hash(secrets.token_urlsafe(24))
    return _DUMMY_HASH


_DUMMY_HASH: str | None = None


def _verify(password_hash: str, password: str) -> bool:
    try:
        return _hasher.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def authenticate(username: str, password: str, max_failures: int = 5, max_wait_minutes: int = 5, *,
                 address: str = "local", first_wait_seconds: int = 1, user_max_failures: int = 10,
                 user_max_wait_seconds: int = 15, forget_minutes: int = 60,
                 failed_action: str = "user.sign_in_failed") -> User:
    """Checks a sign-in from `address`: the user, or Unauthorized with the one answer every failure gets.

    `max_failures`/`max_wait_minutes` throttle the address, `user_max_failures`/`user_max_wait_seconds`
    the user name at that address (security settings of the same names). Every failure is audited
    (`failed_action`).
    """
    name = username.strip().lower()[:64]
    address = (address or "unknown")[:64]
    pair = _pair_key(name, address)
    forget = forget_minutes * 60
    allowed = (_claim("address", address, _Limit(max_failures, first_wait_seconds, max_wait_minutes * 60), forget)
               and _claim("pair", pair, _Limit(user_max_failures, first_wait_seconds, user_max_wait_seconds), forget))
    if not allowed:
        _failed(name, address, "throttled", action=failed_action)
    user = User.get_or_none(User.username == name)
    if user is None:
        _verify(_dummy_hash(), password)  # the same cost as a real check: no user enumeration by timing
        _failed(name, address, "unknown user", counted=True, action=failed_action)
    if not _verify(user.password_hash, password):
        _failed(name, address, "wrong password", counted=True, action=failed_action)
    if not user.active:
        _failed(name, address, "disabled", counted=True, action=failed_action)
    sql.run(_RESET, ("pair", pair))
    sql.run(_UNCOUNT, ("address", address))  # a success is not a failure of this address
    now = clock.now().timestamp()
    sql.run(_PRUNE, (now - forget, now))
    return user


def _failed(username: str, address: str, reason: str, counted: bool = False,
            action: str = "user.sign_in_failed") -> NoReturn:
    log.warning("failed sign-in for %r from %s: %s", username, address, reason)
    if counted:  # a wait runs from the end of the check (an argon2 check takes its time)
        now = clock.now().timestamp()
        for kind, key in (("address", address), ("pair", _pair_key(username, address))):
            sql.run(_WAIT_FROM_NOW, (now, kind, key, now))
    with write_transaction():
        audit.record(f"sign-in:{address}", action, "user", username or "-",
                     after={"address": address, "reason": reason})
    raise Unauthorized(SIGN_IN_FAILED)


def _pair_key(username: str, address: str) -> str:
    return f"{username}|{address}"  # user names cannot hold "|" (USERNAME_RE)


def reset_sign_in_throttle(username: str) -> None:
    """Forgets the failures counted against a user name at every address (an admin set a new password)."""
    prefix = _pair_key(username.strip().lower()[:64], "")
    sql.run(_RESET_USER, (len(prefix), prefix))


# -- web sessions: ended on the server -------------------------------------------------------

def start_web_session(user: User, session_hours: int = 12) -> str:
    """Registers a web sign-in; returns the id its cookie carries (stored here only as a hash)."""
    token = secrets.token_urlsafe(32)
    with write_transaction():
        WebSession.delete().where(WebSession.created_at < utcnow() - timedelta(hours=session_hours)).execute()
        WebSession.create(token_hash=_token_hash(token), user=user.id)
    return token


def web_session_user(token: str | None) -> User | None:
    """The user of a live web session, or None if it was ended (signed out) or never existed."""
    if not token:
        return None
    return (User.select().join(WebSession, on=(WebSession.user == User.id))
            .where(WebSession.token_hash == _token_hash(token)).get_or_none())


def end_web_session(token: str | None) -> None:
    if token:
        WebSession.delete().where(WebSession.token_hash == _token_hash(token)).execute()


def end_all_web_sessions(user: User, actor: str) -> int:
    """Signs the user out everywhere: every browser's session of theirs ends at its next click."""
    with write_transaction():
        ended = WebSession.delete().where(WebSession.user == user.id).execute()
        audit.record(actor, "user.sign_out_everywhere", "user", user.username, after={"sessions": ended})
    return ended


def set_password(username: str, password: str, actor: str, force_change: bool = False) -> None:
    """`force_change`: an admin set it, so the user must choose their own at the next sign-in (the
    pages let them reach nothing else until then); a password the user chose clears the flag."""
    user = get_user(username)
    _check_password(password, user.username)
    with write_transaction():
        User.update(password_hash=hash_password(password), password_changed_at=utcnow(), failed_logins=0,
                    locked_until=None, must_change_password=force_change).where(User.id == user.id).execute()
        audit.record(actor, "user.password", "user", user.username, after={"must_change": force_change})
    reset_sign_in_throttle(user.username)


CURRENT_PASSWORD_FAILED = "Current password is wrong, or too many attempts: wait a moment and try again."


def change_own_password(user: User, current: str, new: str, **throttle) -> None:
    """A signed-in user's new password, once the current one is right. The current password is checked
    like a sign-in (`authenticate`'s throttle per address and user name, `throttle` its keywords), so a
    stolen session cannot guess it faster than the sign-in page could; failures are audited as
    user.password_change_failed. The new password is checked first: a refused one costs no guess."""
    _check_password(new, user.username)
    try:
        authenticate(user.username, current, failed_action="user.password_change_failed", **throttle)
    except Unauthorized:
        raise Invalid(CURRENT_PASSWORD_FAILED, [{"field": "current_password",
                                                 "message": "wrong, or too many attempts: wait a moment"}]) from None
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


MAX_TOKEN_DAYS = 3650


def create_token(name: str, role: str, actor: str, expires_in_days: int | None = None) -> tuple[ApiToken, str]:
    """Returns the token row and the plaintext, which is never stored or shown again. With
    `expires_in_days`, the token is refused (401) from that many days on; without, it lasts until revoked."""
    _check_role(role)
    name = name.strip()
    if not name or len(name) > 64:
        raise Invalid("Token name must be 1-64 characters.", [{"field": "name", "message": "invalid"}])
    if expires_in_days is not None and not 1 <= expires_in_days <= MAX_TOKEN_DAYS:
        raise Invalid(f"A token expires in 1 to {MAX_TOKEN_DAYS} days.", [{"field": "expires_in_days", "message": "out of range"}])
    plaintext = TOKEN_PREFIX + secrets.token_urlsafe(32)
    expires_at = utcnow() + timedelta(days=expires_in_days) if expires_in_days else None
    with write_transaction():
        if ApiToken.select().where(ApiToken.name == name).exists():
            raise Conflict(f"A token named {name} already exists.")
        token = ApiToken.create(name=name, token_hash=_token_hash(plaintext), prefix=plaintext[:8],
                                role=role, created_by=actor, expires_at=expires_at)
        audit.record(actor, "token.create", "token", name, after={
            "role": role, "expires_at": expires_at.isoformat(timespec="seconds") + "Z" if expires_at else None})
    return token, plaintext


_ACTIVE_TOKEN = ("SELECT id, name, role, last_used_at, expires_at FROM api_token "
                 "WHERE token_hash = ? AND revoked_at IS NULL")


def token_for(plaintext: str) -> ApiToken | None:
    """The active token with this plaintext, or None. Runs on every API request: plain SQL."""
    row = sql.one(_ACTIVE_TOKEN, (_token_hash(plaintext),))
    if row is None:
        return None
    token_id, name, role, last_used_at, expires_at = row
    if isinstance(last_used_at, str):  # SQLite hands back the stored text
        last_used_at = datetime.fromisoformat(last_used_at)
    if isinstance(expires_at, str):
        expires_at = datetime.fromisoformat(expires_at)
    now = utcnow()
    if expires_at is not None and now >= expires_at:
        raise Unauthorized(f"The API token {name} expired at {expires_at.isoformat(timespec='seconds')}Z; "
                           "ask an admin for a new one.")
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
