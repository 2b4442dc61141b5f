"""The database object: created empty, initialised late from a URL (SQLite or PostgreSQL).

Every model binds to `database` (a peewee DatabaseProxy) so the same models run on both engines.
"""
from __future__ import annotations

from contextlib import contextmanager
from pathlib import Path
from urllib.parse import unquote, urlparse

import peewee
from peewee import DatabaseProxy

database = DatabaseProxy()


class DatabaseURLError(ValueError):
    pass


def open_database(url: str, home: Path | str = ".", busy_timeout_ms: int = 5000) -> peewee.Database:
    """Builds (does not connect) a peewee database for `url`; relative SQLite paths are under `home`."""
    parsed = urlparse(url)
    if parsed.scheme == "sqlite":
        return _sqlite(_sqlite_path(parsed, Path(home)), busy_timeout_ms)
    if parsed.scheme in ("postgresql", "postgres"):
        return _postgres(parsed)
    raise DatabaseURLError(f"database.url must start with sqlite:/// or postgresql:// (got {url!r})")


def _sqlite_path(parsed, home: Path) -> str:
    # sqlite:///appliance.db -> relative; sqlite:////var/lib/x.db -> absolute
    raw = unquote(parsed.path)
    if raw in ("/:memory:", ":memory:"):
        return ":memory:"
    relative = raw[1:] if raw.startswith("/") else raw
    if not relative:
        raise DatabaseURLError("database.url for SQLite needs a file name, e.g. sqlite:///appliance.db")
    p = Path(relative)
    return str(p if p.is_absolute() else home / p)


def _sqlite(path: str, busy_timeout_ms: int) -> peewee.SqliteDatabase:
    return peewee.SqliteDatabase(
        path,
        pragmas={
            "journal_mode": "wal",
            # FULL: a commit is on disk (WAL fsynced) before we acknowledge an order.
            "synchronous": "full",
            "busy_timeout": busy_timeout_ms,
            "foreign_keys": 1,
            "cache_size": -16_000,
        },
        # Writers take the lock at BEGIN: a deferred transaction that upgrades to a write
        # fails with SQLITE_BUSY at once under WAL, whatever busy_timeout says.
        lock_type="IMMEDIATE",
        check_same_thread=False,
    )


def _postgres(parsed) -> peewee.PostgresqlDatabase:
    name = parsed.path.lstrip("/")
    if not name:
        raise DatabaseURLError("database.url for PostgreSQL needs a database name")
    return peewee.PostgresqlDatabase(
        unquote(name),
        user=unquote(parsed.username) if parsed.username else None,
        password=unquote(parsed.password) if parsed.password else None,
        host=parsed.hostname,
        port=parsed.port,
    )


def init_database(url: str, home: Path | str = ".", busy_timeout_ms: int = 5000) -> peewee.Database:
    db = open_database(url, home, busy_timeout_ms)
    database.initialize(db)
    return db


def is_postgres() -> bool:
    return isinstance(database.obj, peewee.PostgresqlDatabase)


def is_sqlite() -> bool:
    return isinstance(database.obj, peewee.SqliteDatabase)


def locked(query):
    """SELECT … FOR UPDATE where the engine has it; SQLite already serialises writers."""
    return query.for_update() if is_postgres() else query


@contextmanager
def write_transaction():
    """One write transaction that holds the box-wide write lock from its start.

    SQLite: BEGIN IMMEDIATE takes the database's write lock. PostgreSQL: the row lock on the audit
    chain's head, which every mutation needs at its end anyway; taking it first gives all writers
    one lock order, so two orders naming the same products in opposite order cannot deadlock.
    """
    with database.atomic():
        if is_postgres():
            database.execute_sql("SELECT id FROM audit_head WHERE id = 1 FOR UPDATE")
        yield
