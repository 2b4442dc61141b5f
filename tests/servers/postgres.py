"""A throwaway PostgreSQL cluster for the test session (one per pytest-xdist worker).

`postgres_server` (session scope) runs initdb in a temp dir, starts the server with pg_ctl on a free
port on 127.0.0.1, waits until a real query succeeds, migrates a template database with the
appliance schema once, and stops the cluster (and deletes its files) at the end of the session,
also when tests fail.

    url = postgres_server.create_database()   # fresh, uniquely named, already migrated (fast clone)
    url = postgres_server.create_database(template=False)   # empty database
    postgres_server.drop_database(url)        # optional; everything goes at session end

initdb refuses to run as root: as root the cluster runs as the `postgres` user (runuser/su) and
its data dir is owned by it. Binaries are found on PATH or under /usr/lib/postgresql/*/bin
(override with APPLIANCE_TEST_PG_BIN=/path/to/bin). `./dev test` installs them when missing.
The cluster runs with fsync off: it is a test fixture, and killing the *appliance* (the durability
tests) never kills PostgreSQL, so fsync plays no part in what those tests show.
"""
from __future__ import annotations

import atexit
import glob
import itertools
import os
import pwd
import shutil
import subprocess
import tempfile
import time
import uuid
from pathlib import Path

import pytest

from .ports import free_port
from .required import need

TEMPLATE = "appliance_template"
PG_USER = "postgres"
START_ATTEMPTS = 3


class PostgresUnavailable(RuntimeError):
    pass


class PostgresNotInstalled(PostgresUnavailable):
    """The server binaries (or the user to run them as) are not on this machine."""


def find_bin_dir() -> Path:
    """The directory holding initdb and pg_ctl (PostgreSQL 15 preferred)."""
    override = os.environ.get("APPLIANCE_TEST_PG_BIN")
    candidates = [Path(override)] if override else []
    on_path = shutil.which("initdb")
    if on_path:
        candidates.append(Path(os.path.realpath(on_path)).parent)
    versions = sorted(glob.glob("/usr/lib/postgresql/*/bin"),
                      key=lambda p: (Path(p).parent.name != "15", -_major(Path(p).parent.name)))
    candidates += [Path(p) for p in versions]
    for directory in candidates:
        if (directory / "initdb").is_file() and (directory / "pg_ctl").is_file():
            return directory
    raise PostgresNotInstalled(
        "PostgreSQL server binaries (initdb, pg_ctl) were not found on PATH or under "
        "/usr/lib/postgresql/*/bin: install them with `apt-get install postgresql` "
        "(./dev test does it) or set APPLIANCE_TEST_PG_BIN.")


def _major(name: str) -> int:
    try:
        return int(name)
    except ValueError:
        return 0


class PostgresServer:
    """One cluster: start(), create_database(), stop()."""

    def __init__(self, bin_dir: Path | None = None):
        self.bin_dir = bin_dir or find_bin_dir()
        self.host = "127.0.0.1"
        self.user = PG_USER
        self.port: int | None = None
        self.base: Path | None = None
        self._as_postgres = os.geteuid() == 0
        self._counter = itertools.count(1)
        self._started = False
        self.template_ready = False

    # -- lifecycle ----------------------------------------------------------------------------

    @property
    def data_dir(self) -> Path:
        return self.base / "data"

    @property
    def log_file(self) -> Path:
        return self.base / "server.log"

    def start(self) -> "PostgresServer":
        self.base = Path(tempfile.mkdtemp(prefix="appliance-pg-"))
        try:
            if self._as_postgres:
                try:
                    pw = pwd.getpwnam(PG_USER)
                except KeyError:
                    raise PostgresNotInstalled("Running as root, but there is no `postgres` user to run initdb as "
                                              "(install the postgresql package).") from None
                os.chown(self.base, pw.pw_uid, pw.pw_gid)
            self._run(["initdb", "-D", str(self.data_dir), "-A", "trust", "-U", PG_USER, "--no-sync",
                       "-E", "UTF8", "--locale=C"], "initdb")
            self._start_server()
            self._wait_ready()
        except BaseException:
            self.stop()
            raise
        return self

    def _start_server(self) -> None:
        last = ""
        for _ in range(START_ATTEMPTS):  # a free port can be taken between probing and binding
            self.port = free_port()
            options = " ".join([
                f"-p {self.port}", "-c listen_addresses=127.0.0.1", f"-k {self.base}",
                "-c fsync=off", "-c synchronous_commit=off", "-c full_page_writes=off",
                "-c max_connections=200", "-c shared_buffers=32MB",
                # A database per test: cloned by copying files, with little WAL kept between checkpoints.
                "-c wal_level=minimal", "-c max_wal_senders=0", "-c max_wal_size=64MB", "-c min_wal_size=32MB",
            ])
            result = self._run(["pg_ctl", "-D", str(self.data_dir), "-l", str(self.log_file), "-w", "-t", "30",
                                "-o", options, "start"], "pg_ctl start", check=False)
            if result.returncode == 0:
                self._started = True
                return
            last = self._log_tail()
        raise PostgresUnavailable(f"PostgreSQL did not start after {START_ATTEMPTS} attempts: {last}")

    def _wait_ready(self, timeout: float = 30) -> None:
        deadline = time.monotonic() + timeout
        error: Exception | None = None
        while time.monotonic() < deadline:
            try:
                self.execute("SELECT 1")
                return
            except Exception as e:  # noqa: BLE001 - retried until the deadline
                error = e
                time.sleep(0.05)
        raise PostgresUnavailable(f"PostgreSQL on port {self.port} never answered a query: {error}; {self._log_tail()}")

    def stop(self) -> None:
        """Stops the cluster and removes its files; safe to call twice."""
        if self._started:
            self._run(["pg_ctl", "-D", str(self.data_dir), "-m", "immediate", "-w", "-t", "30", "stop"],
                      "pg_ctl stop", check=False)
            self._started = False
        if self.base is not None:
            shutil.rmtree(self.base, ignore_errors=True)
            self.base = None

    def _run(self, argv: list[str], what: str, check: bool = True) -> subprocess.CompletedProcess:
        argv = [str(self.bin_dir / argv[0])] + argv[1:]
        if self._as_postgres:
            argv = (["runuser", "-u", PG_USER, "--"] + argv if shutil.which("runuser")
                    else ["su", PG_USER, "-s", "/bin/sh", "-c", " ".join(_quote(a) for a in argv)])
        result = subprocess.run(argv, capture_output=True, text=True, timeout=120, cwd=self.base)
        if check and result.returncode != 0:
            raise PostgresUnavailable(f"{what} failed (exit {result.returncode}): "
                                      f"{(result.stderr or result.stdout).strip()[-800:]}")
        return result

    def _log_tail(self) -> str:
        try:
            return self.log_file.read_text(errors="replace")[-800:]
        except OSError:
            return "(no server log)"

    # -- databases ----------------------------------------------------------------------------

    def url(self, dbname: str) -> str:
        return f"postgresql://{self.user}@{self.host}:{self.port}/{dbname}"

    def connect(self, dbname: str = "postgres"):
        import psycopg2
        conn = psycopg2.connect(host=self.host, port=self.port, user=self.user, dbname=dbname, connect_timeout=5)
        conn.autocommit = True
        return conn

    def execute(self, sql: str, params=None, dbname: str = "postgres") -> list[tuple]:
        conn = self.connect(dbname)
        try:
            with conn.cursor() as cur:
                cur.execute(sql, params)
                return cur.fetchall() if cur.description else []
        finally:
            conn.close()

    def create_database(self, template: bool = True) -> str:
        """A fresh, uniquely named database; with `template` it already has the appliance schema."""
        if template and not self.template_ready:
            self._make_template()
        name = f"t{next(self._counter)}_{uuid.uuid4().hex[:8]}"
        self.execute(f'CREATE DATABASE "{name}"' + (f' TEMPLATE "{TEMPLATE}" STRATEGY FILE_COPY' if template else ""))
        return self.url(name)

    def drop_database(self, url_or_name: str) -> None:
        name = url_or_name.rsplit("/", 1)[-1]
        self.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    def _make_template(self) -> None:
        """Migrates the template once; every create_database() clones it (no per-test migration)."""
        from cli.wiring import extra_models
        from appliance.db import database, open_database
        from appliance.schema import migrate

        self.execute(f'DROP DATABASE IF EXISTS "{TEMPLATE}"')
        self.execute(f'CREATE DATABASE "{TEMPLATE}"')
        previous = database.obj
        db = open_database(self.url(TEMPLATE))
        database.initialize(db)
        try:
            db.connect()
            migrate(extra_models())
        finally:
            db.close()
            database.initialize(previous)
        # No connection may stay open on a template while it is cloned.
        self.execute(f'ALTER DATABASE "{TEMPLATE}" WITH IS_TEMPLATE true')
        self.template_ready = True


def _quote(arg: str) -> str:
    import shlex
    return shlex.quote(arg)


@pytest.fixture(scope="session")
def postgres_server():
    """A running PostgreSQL cluster for this session (each xdist worker gets its own)."""
    try:
        server = PostgresServer()
        server.start()
    except PostgresNotInstalled as e:
        need("initdb", str(e))
    except PostgresUnavailable as e:
        pytest.fail(f"PostgreSQL test cluster: {e}", pytrace=False)
    atexit.register(server.stop)  # belt and braces if the session ends abnormally
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def postgres_url(postgres_server) -> str:
    """A fresh migrated PostgreSQL database for one test, dropped afterwards."""
    url = postgres_server.create_database()
    yield url
    postgres_server.drop_database(url)
