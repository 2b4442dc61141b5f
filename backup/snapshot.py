"""Consistent snapshots of the live database, and loading one back, for SQLite and PostgreSQL.

The business counts are read inside the same read transaction as the snapshot, so the manifest
describes exactly the data in the payload while the shop keeps writing.
"""
from __future__ import annotations

import glob
import io
import os
import secrets
import shutil
import sqlite3
import subprocess
import threading
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import BinaryIO, Callable, Iterator
from urllib.parse import urlparse

import peewee

from appliance import stats
from appliance.db import database, is_postgres, open_database, writers_held_off
from appliance.models import AuditHead, Order, OrderLine, Product, StockLevel

from .errors import BackupError, CorruptCopy

COUNTED_MODELS = [Order, OrderLine, Product, StockLevel, AuditHead]
_BIND_LOCK = threading.Lock()


def engine() -> str:
    return "postgresql" if is_postgres() else "sqlite"


@dataclass(frozen=True)
class Taken:
    """A consistent snapshot to read once: `source` gives exactly `size` bytes.

    `counts()` gives its business counts; call it on the thread that opened the snapshot (on SQLite
    it may count inside the snapshot's read transaction, while another thread reads `source`).
    """
    source: BinaryIO
    size: int
    counts: Callable[[], dict]
    how: str  # "live file", "backup API" or "pg_dump": what was read, for the report


@contextmanager
def taken(scratch: Path) -> Iterator[Taken]:
    """A consistent snapshot of the live database while the `with` block reads it.

    SQLite: the live file itself when it can be pinned (`_pin_sqlite_snapshot`), otherwise a copy
    made by the online backup API in `scratch`. PostgreSQL: `pg_dump -Fc` into `scratch`.
    """
    if is_postgres():
        out = scratch / "snapshot"
        counts = _take_postgres(out)
        with _scratch_file(out) as source:
            yield Taken(source, out.stat().st_size, lambda: counts, "pg_dump")
        return
    conn = database.connection()
    try:
        if _pin_sqlite_snapshot(conn):
            size = conn.execute("PRAGMA page_count").fetchone()[0] * conn.execute("PRAGMA page_size").fetchone()[0]
            with open(database.obj.database, "rb") as live:
                # Counted on demand, inside the read transaction: a 1 GB database takes ~0.4 s to
                # count, which the backup overlaps with compressing the file.
                yield Taken(_Slice(live, size), size, stats.business_counts, "live file")
            return
        counts = stats.business_counts()  # inside the snapshot's read transaction
        out = scratch / "snapshot"
        target = sqlite3.connect(out)
        try:
            # Scratch (compressed, hashed and uploaded right after): no fsyncs, which were most of its time.
            target.execute("PRAGMA synchronous=OFF")
            conn.backup(target)
        finally:
            target.close()
    finally:
        if conn.in_transaction:
            conn.execute("ROLLBACK")  # it only read
    with _scratch_file(out) as source:
        yield Taken(source, out.stat().st_size, lambda: counts, "backup API")


def _pin_sqlite_snapshot(conn: sqlite3.Connection) -> bool:
    """Opens a read transaction on `conn`; True if the database file itself is that snapshot.

    In WAL mode a reader that begins when every WAL frame is already copied into the database file
    (a complete checkpoint) reads the file alone, and holds the lock that every checkpoint must take
    before it writes to the file: until the reader ends, the file is exactly its snapshot and can be
    read as plain bytes, with no 1 GB scratch copy (the copy was most of a 1 GB backup's time).
    To begin right after such a checkpoint, writers are held off for that moment: the box's writer
    queue plus SQLite's write lock (for writers outside the queue). If a long reader keeps the
    checkpoint from completing, the read transaction is still opened and False is returned.
    BEGIN goes straight to the connection: the database's begin() queues as a writer.
    The bulk of the WAL is copied first, while orders go on: a minute of orders makes a WAL of
    ~14 MB whose checkpoint took 10-40 ms, and every order waited for it while writers were held
    off (order p99 in the soak's backup minutes, issue 17). Held off, only what was written since
    is left to copy.
    """
    conn.execute("PRAGMA wal_checkpoint(PASSIVE)")
    with writers_held_off():
        busy, frames, copied = conn.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()
        conn.execute("BEGIN DEFERRED")
        conn.execute("SELECT count(*) FROM sqlite_master").fetchone()  # the snapshot starts here
    return busy == 0 and frames >= 0 and frames == copied  # frames is -1 outside WAL mode


class _Slice(io.RawIOBase):
    """The first `size` bytes of a file (the pages of the snapshot; the file may grow after it)."""

    def __init__(self, file: BinaryIO, size: int):
        self.file, self.left = file, size

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        want = min(len(buffer), self.left)
        if want <= 0:
            return 0
        got = self.file.readinto(memoryview(buffer)[:want])
        if not got:
            raise BackupError("The database file ended before its last page while being backed up.")
        self.left -= got
        return got


@contextmanager
def _scratch_file(path: Path) -> Iterator[BinaryIO]:
    try:
        with open(path, "rb") as source:
            yield source
    finally:
        path.unlink(missing_ok=True)


def _take_postgres(out: Path) -> dict:
    # pg_dump joins our REPEATABLE READ snapshot (--snapshot), so counts and dump agree.
    with database.atomic():
        database.execute_sql("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")
        snapshot_id = database.execute_sql("SELECT pg_export_snapshot()").fetchone()[0]
        counts = stats.business_counts()
        _run_pg("pg_dump", ["-Fc", "-Z0", f"--snapshot={snapshot_id}", "-f", str(out)], PgServer.live())
    return counts


@dataclass(frozen=True)
class PgServer:
    """Where a PostgreSQL database is; the password goes through PGPASSWORD, never the command line.
    `host` and `port` may list several (a Patroni pair: "10.0.0.1,10.0.0.2"), with the libpq
    `target_session_attrs` that picks the primary among them."""
    name: str
    user: str | None = None
    password: str | None = field(default=None, repr=False)
    host: str | None = None
    port: int | str | None = None
    target_session_attrs: str | None = None

    @classmethod
    def from_url(cls, url: str) -> "PgServer":
        from psycopg2.extensions import parse_dsn  # libpq's own parser: several hosts and query options
        p = parse_dsn(url)
        return cls(p.get("dbname", ""), p.get("user"), p.get("password"), p.get("host"), p.get("port"),
                   p.get("target_session_attrs"))

    @classmethod
    def live(cls) -> "PgServer":
        params = database.obj.connect_params
        if "dsn" in params:  # opened from a multi-host URL (appliance/db.py)
            return replace(cls.from_url(params["dsn"]), name=database.obj.database)
        return cls(database.obj.database, params.get("user"), params.get("password"),
                   params.get("host"), params.get("port"))

    def command(self, tool: str, args: list[str]) -> tuple[list[str], dict]:
        conn = ["-h", self.host] if self.host else []
        conn += ["-p", str(self.port)] if self.port else []
        conn += ["-U", self.user] if self.user else []
        env = dict(os.environ, PGPASSWORD=self.password) if self.password else dict(os.environ)
        if self.target_session_attrs:
            env["PGTARGETSESSIONATTRS"] = self.target_session_attrs
        return [pg_tool(tool), *conn, "-d", self.name, *args], env


def _run_pg(tool: str, args: list[str], server: PgServer) -> None:
    command, env = server.command(tool, args)
    result = subprocess.run(command, env=env, capture_output=True, text=True)
    if result.returncode != 0:
        last = (result.stderr.strip().splitlines() or ["no output"])[-1]
        raise BackupError(f"{tool} failed: {last}")


def pg_tool(name: str) -> str:
    """PostgreSQL client tools: on PATH, or in Debian's versioned folder (newest first)."""
    found = shutil.which(name)
    if found:
        return found
    candidates = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"),
                        key=lambda p: int(Path(p).parts[-3]), reverse=True)
    if not candidates:
        raise BackupError(f"{name} is not installed (Debian package postgresql-client).")
    return candidates[0]


# -- loading a snapshot back ------------------------------------------------------------------

def check_sqlite_file(path: Path, where: str, full: bool = True) -> dict:
    """Business counts of a restored SQLite file, after SQLite's integrity_check when `full`.

    `backup verify` runs the full check (every page, b-tree and index: about 19 s per GB) on every
    copy. A restore does not run SQLite's checks by default, as restic and Litestream don't: its
    bytes are already proven identical to the snapshot the backup took (AES-GCM per chunk, the
    manifest's HMAC and SHA-256; Litestream's own checksums for the replica), the counts still open
    the file and read every counted table, and a quick_check (about 3 s per GB) would sit on the
    RTO's critical path. The recovery runbooks check integrity right after the shop serves again,
    and the `db_integrity` monitor does on its schedule.
    """
    try:
        if full:
            conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
            try:
                result = conn.execute("PRAGMA integrity_check").fetchall()
            finally:
                conn.close()
            if result != [("ok",)]:
                raise CorruptCopy(f"The database in {where} fails its integrity check: {result[0][0]}.")
    except sqlite3.DatabaseError as e:
        raise CorruptCopy(f"The database in {where} does not open: {e}.") from None
    return counts_of(peewee.SqliteDatabase(str(path), pragmas={"query_only": 1}))


def counts_of(db: peewee.Database) -> dict:
    """Business counts of a database other than the live one.

    Rebinding models is process-wide, hence the lock; call this from the CLI or the scheduler
    process, not from a thread of a web worker.
    """
    with _BIND_LOCK, db.bind_ctx(COUNTED_MODELS, bind_refs=False, bind_backrefs=False):
        try:
            return stats.business_counts()
        except peewee.DatabaseError as e:
            raise CorruptCopy(f"The restored database cannot be read: {e}.") from None
        finally:
            db.close()


def restore_postgres(dump: Path, url: str, clean: bool) -> None:
    """Loads a `pg_dump -Fc` file into the database at `url`, all or nothing."""
    args = ["--no-owner", "--exit-on-error", "--single-transaction"]
    if clean:
        args += ["--clean", "--if-exists"]
    _run_pg("pg_restore", [*args, str(dump)], PgServer.from_url(url))


def postgres_has_tables(url: str) -> bool:
    db = open_database(url)
    try:
        return bool(db.get_tables())
    finally:
        db.close()


@contextmanager
def scratch_postgres(url: str):
    """A throwaway database next to `url` (same server), dropped afterwards."""
    parsed = urlparse(url)
    name = f"appliance_verify_{secrets.token_hex(4)}"
    admin = open_database(url)
    admin.execute_sql(f'CREATE DATABASE "{name}"')
    scratch = parsed._replace(path=f"/{name}").geturl()
    try:
        yield scratch
    finally:
        admin.execute_sql(f'DROP DATABASE IF EXISTS "{name}"')
        admin.close()


def check_postgres(url: str) -> dict:
    return counts_of(open_database(url))
