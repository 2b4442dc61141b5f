"""The database object: created empty, initialised late from a URL (SQLite or PostgreSQL).

Every model binds to `database` (a peewee DatabaseProxy) so the same models run on both engines.
"""
from __future__ import annotations

import fcntl
import os
import re
import select
import sqlite3
import threading
import time
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import unquote, urlparse

import peewee
from peewee import DatabaseProxy

from . import fencing

database = DatabaseProxy()


class DatabaseURLError(ValueError):
    pass


def open_database(url: str, home: Path | str = ".", busy_timeout_ms: int = 5000) -> peewee.Database:
    """Builds (does not connect) a peewee database for `url`; relative SQLite paths are under `home`."""
    parsed = urlparse(url)
    if parsed.scheme == "sqlite":
        return _sqlite(_sqlite_path(parsed, Path(home)), busy_timeout_ms)
    if parsed.scheme in ("postgresql", "postgres"):
        return _postgres(url, parsed)
    raise DatabaseURLError(f"database.url must start with sqlite:/// or postgresql:// (got {url!r})")


def database_exists(url: str, home: Path | str = ".") -> bool:
    """Whether opening `url` would find a database rather than create one (SQLite makes a file)."""
    parsed = urlparse(url)
    return parsed.scheme != "sqlite" or Path(_sqlite_path(parsed, Path(home))).exists()


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
    return QueuedSqliteDatabase(
        path,
        busy_timeout_ms=busy_timeout_ms,
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


def _postgres(url: str, parsed) -> peewee.PostgresqlDatabase:
    name = parsed.path.lstrip("/")
    if not name:
        raise DatabaseURLError("database.url for PostgreSQL needs a database name")
    if "," in parsed.netloc or parsed.query:
        # Several hosts (a Patroni pair) or libpq options such as target_session_attrs=read-write:
        # libpq reads the URL itself (urlparse knows one host and one port).
        return ReconnectingPostgresqlDatabase(unquote(name), dsn=url)
    return ReconnectingPostgresqlDatabase(
        unquote(name),
        user=unquote(parsed.username) if parsed.username else None,
        password=unquote(parsed.password) if parsed.password else None,
        host=parsed.hostname,
        port=parsed.port,
    )


class ReconnectingPostgresqlDatabase(peewee.PostgresqlDatabase):
    """A connection the server dropped (its PostgreSQL died, restarted, or a failover demoted it) is
    replaced before the next statement that starts outside a transaction, instead of failing every
    request of that worker from then on (peewee keeps a broken connection as if it were open). With a
    multi-host URL libpq then connects to whichever host accepts writes now: after a Patroni failover
    or switchover the same process writes to the promoted box. A connection that breaks in the middle
    of a transaction fails it (what it wrote went with the connection); the next one reconnects."""

    def cursor(self, *args, **kwargs):
        if not self.is_closed() and not self.in_transaction() and _dropped(self._state.conn):
            try:
                self._state.conn.close()
            except Exception:  # noqa: BLE001 - it is being thrown away
                pass
            self._state.reset()
        return super().cursor(*args, **kwargs)

    def rollback(self):
        if not self.is_closed() and self._state.conn.closed:
            return  # the server rolled the transaction back when the connection went: nothing to undo
        return super().rollback()


def _dropped(conn) -> bool:
    """Closed, or the server has sent something while the connection sat idle between statements:
    there that is its goodbye (the FATAL of a shutdown or a demotion, or the end of the stream when
    the box died). One poll of the socket, no round trip."""
    if conn.closed:
        return True
    poller = select.poll()  # not select(): no limit on the descriptor's number
    try:
        poller.register(conn.fileno(), select.POLLIN)
        return bool(poller.poll(0))
    except (OSError, ValueError):
        return True


def init_database(url: str, home: Path | str = ".", busy_timeout_ms: int = 5000) -> peewee.Database:
    db = open_database(url, home, busy_timeout_ms)
    database.initialize(db)
    fencing.watch(home)  # this process obeys this home's write permit (appliance/fencing.py)
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
    outermost = not database.in_transaction()  # a nested one is a savepoint of a checked transaction
    if outermost and isinstance(database.obj, QueuedSqliteDatabase):
        database.obj.reopen_if_replaced()
    with database.atomic():
        if outermost:
            fencing.check()  # a fenced box starts no write
        if is_postgres():
            database.execute_sql("SELECT id FROM audit_head WHERE id = 1 FOR UPDATE")
        yield
        if outermost:
            fencing.check()  # and commits none: the permit's deadline may have passed meanwhile


class _WriterTurn:
    """SQLite: the box's writers wait their turn in line, not in SQLite's busy handler.

    A write on a locked database makes SQLite's busy handler sleep 1, 2, 5, 10 … 100 ms between
    retries, so under load a waiting writer keeps missing the moments the lock is free (measured
    with 4-16 concurrent clients: p99 of 1.5-3.5 s, a third less throughput, and 503s when a
    writer gave up after busy_timeout). Here a writer first takes a lock of its process (per database
    file), then an flock on `<db>-writer.lock` shared by every process of the box; one thread per process
    polls that flock (50-200 µs steps: a commit takes ~1 ms, so coarser steps left the lock idle),
    so the next writer starts as soon as the last one commits.
    SQLite's own lock still guards the data: this only orders the queue. Waiting longer than
    busy_timeout raises SQLite's own error, "database is locked".
    """

    def __init__(self) -> None:
        self._reset()
        os.register_at_fork(after_in_child=self._reset)

    def _reset(self) -> None:
        self._guard = threading.Lock()
        self._local = threading.local()
        self._queues: dict[str, tuple[threading.Lock, int]] = {}  # per database file

    def _queue(self, path: str) -> tuple[threading.Lock, int]:
        with self._guard:
            queue = self._queues.get(path)
            if queue is None:
                fd = os.open(path + "-writer.lock", os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
                queue = self._queues[path] = (threading.Lock(), fd)
            return queue

    def _held(self) -> dict[str, tuple[threading.Lock, int]]:
        held = getattr(self._local, "held", None)
        if held is None:
            held = self._local.held = {}
        return held

    def acquire(self, db: "QueuedSqliteDatabase") -> None:
        path, held = db.database, self._held()
        if path in ("", ":memory:") or path in held:
            return
        lock, fd = self._queue(path)
        timeout = db.busy_timeout_ms / 1000
        deadline = time.monotonic() + timeout
        if not lock.acquire(timeout=timeout):
            raise peewee.OperationalError("database is locked")
        try:
            pause = 0.00005
            while True:
                try:
                    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                    break
                except BlockingIOError:
                    if time.monotonic() > deadline:
                        raise peewee.OperationalError("database is locked") from None
                    time.sleep(pause)
                    pause = min(pause * 2, 0.0002)
        except BaseException:
            lock.release()
            raise
        held[path] = (lock, fd)

    def release(self, db: "QueuedSqliteDatabase") -> None:
        entry = self._held().pop(db.database, None)
        if entry is None:
            return
        lock, fd = entry
        try:
            fcntl.flock(fd, fcntl.LOCK_UN)
        finally:
            lock.release()


_writer_turn = _WriterTurn()
_WRITE_STATEMENT = re.compile(r"\s*(INSERT|UPDATE|DELETE|REPLACE)\b", re.IGNORECASE)


@contextmanager
def writers_held_off():
    """SQLite: no writer of the box, nor any other, commits while this is held (keep it short).

    The box's writer queue first (so no queued writer is in the middle of a transaction), then
    SQLite's own write lock on a connection of its own, for writers outside the queue.
    """
    db = database.obj
    _writer_turn.acquire(db)
    try:
        holder = sqlite3.connect(db.database, timeout=db.busy_timeout_ms / 1000, isolation_level=None)
        try:
            holder.execute("BEGIN IMMEDIATE")
            yield
        finally:
            holder.close()  # rolls back: it wrote nothing
    finally:
        _writer_turn.release(db)


def _file_id(path: str) -> tuple[int, int] | None:
    try:
        st = os.stat(path)
    except OSError:
        return None
    return st.st_dev, st.st_ino


class QueuedSqliteDatabase(peewee.SqliteDatabase):
    """SqliteDatabase whose write transactions and single write statements queue (_WriterTurn).

    Every transaction here is a write transaction (BEGIN IMMEDIATE), so each queues from BEGIN
    to COMMIT/ROLLBACK; a write outside a transaction queues for its one statement.
    """

    def __init__(self, *args, busy_timeout_ms: int = 5000, **kwargs):
        self.busy_timeout_ms = busy_timeout_ms
        self._opened = threading.local()  # the file this thread's connection opened
        super().__init__(*args, **kwargs)

    # A promoted standby moves its copy of the primary's database into place (failover/standby.py):
    # a connection opened before still reads and writes the file set aside. So a connection whose
    # file is no longer the one at the path is opened again before a request or a write transaction.

    def connect(self, reuse_if_open=False):
        if reuse_if_open:
            self.reopen_if_replaced()
        return super().connect(reuse_if_open)

    def reopen_if_replaced(self) -> None:
        """Closes this thread's connection when another file took its path (outside a transaction)."""
        if self.is_closed() or self.in_transaction():
            return
        if getattr(self._opened, "file", None) != _file_id(self.database):
            self.close()

    def begin(self, lock_type=None):
        _writer_turn.acquire(self)
        try:
            super().begin(lock_type)
        except BaseException:
            _writer_turn.release(self)
            raise

    def commit(self):
        super().commit()  # if COMMIT fails, peewee rolls back, which releases the turn
        _writer_turn.release(self)

    def rollback(self):
        try:
            super().rollback()
        finally:
            _writer_turn.release(self)

    def execute_sql(self, sql, params=None):
        if self.transaction_depth() == 0 and _WRITE_STATEMENT.match(sql):
            _writer_turn.acquire(self)
            try:
                return super().execute_sql(sql, params)
            finally:
                _writer_turn.release(self)
        return super().execute_sql(sql, params)

    def _close(self, conn):
        try:
            super()._close(conn)
        finally:
            _writer_turn.release(self)  # a connection closed inside a transaction gives its turn back

    def _connect(self):
        _create_private(self.database)
        conn = super()._connect()
        self._opened.file = _file_id(self.database)
        return conn


def _create_private(path: str) -> None:
    """Creates a missing SQLite file 0600 whatever the umask (SQLite would make it 0644): orders and
    customers are the owner's alone. SQLite gives the -wal and -shm files the database's mode."""
    if path in ("", ":memory:") or path.startswith("file:") or os.path.exists(path):
        return
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o600)
    except (FileExistsError, FileNotFoundError):  # made meanwhile; or no folder: SQLite says so
        return
    try:
        os.fchmod(fd, 0o600)
    finally:
        os.close(fd)
