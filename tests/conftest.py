"""Shared fixtures: a fresh home folder and database per test, users of every role.

The database engine is SQLite unless a test module asks for PostgreSQL (see tests/servers/postgres.py).
"""
from __future__ import annotations

import base64
import os
import secrets
import shutil
from datetime import datetime
from pathlib import Path

import psutil
import pytest

from appliance import clock, config, runtime
from appliance.db import database
from appliance.schema import migrate
from cli.wiring import register_operations, register_panels, register_settings
from tests.servers.postgres import postgres_server, postgres_url  # noqa: F401

register_settings()  # the packages' sections ([backup], [monitors]), as `appliance` has them
register_operations()  # every package's operations, as `appliance` has them
register_panels()  # every package's /ops panel, as `appliance serve` has them


def make_home(path: Path) -> Path:
    """A home folder as `appliance init` leaves it, without demo data."""
    (path / "keys").mkdir(parents=True, exist_ok=True)
    (path / "keys" / "secret.key").write_bytes(secrets.token_bytes(32))
    (path / "keys" / "backup.key").write_text(base64.urlsafe_b64encode(secrets.token_bytes(32)).decode() + "\n")
    for sub in ("backups", "logs"):
        (path / sub).mkdir(exist_ok=True)
    (path / config.CONFIG_FILE).write_text(config.default_toml())
    return path


@pytest.fixture
def home(tmp_path: Path) -> Path:
    return make_home(tmp_path / "home")


@pytest.fixture
def database_url() -> str:
    """SQLite; a module runs its tests on both engines with `database_url = on_both_engines()`."""
    return "sqlite:///appliance.db"


def on_both_engines():
    """A `database_url` fixture that runs each test on SQLite and on a real PostgreSQL cluster."""
    @pytest.fixture(params=["sqlite", "postgresql"])
    def database_url(request) -> str:
        if request.param == "sqlite":
            return "sqlite:///appliance.db"
        return request.getfixturevalue("postgres_url")  # dropped after the test: a session keeps no clones
    return database_url


@pytest.fixture
def settings(home: Path, database_url: str) -> config.Settings:
    return config.load(home, environ={"APPLIANCE_DATABASE_URL": database_url})


@pytest.fixture(scope="session")
def migrated_sqlite(tmp_path_factory) -> Path:
    """A SQLite file as `migrate` leaves a new box's: each test's database starts as a copy of it
    (a copy and a `migrate` that finds nothing to do take 12 ms; migrating from nothing, 90)."""
    from cli.wiring import extra_models
    home = make_home(tmp_path_factory.mktemp("migrated") / "home")
    runtime.connect(config.load(home, environ={"APPLIANCE_DATABASE_URL": "sqlite:///appliance.db"}))
    migrate(extra_models())
    runtime.close()  # the last connection's close folds the WAL into the file
    return home / "appliance.db"


@pytest.fixture
def db(settings: config.Settings, database_url: str, request):
    from cli.wiring import extra_models
    fresh = settings.home / "appliance.db"
    if database_url == "sqlite:///appliance.db" and not fresh.exists():
        shutil.copyfile(request.getfixturevalue("migrated_sqlite"), fresh)
    runtime.connect(settings)
    migrate(extra_models())  # still run: it is what a test's box does, and it must find nothing to do
    yield database
    runtime.close()


# Instants where date arithmetic breaks: a test marked `calendar` runs at today's real time and again
# at each of these (the box's clock shifted there, still ticking). Naive UTC; the zone notes are for
# a shop in Europe/Berlin, the zone the calendar tests give their shop.
AWKWARD_INSTANTS = {
    "first-of-month-0030": datetime(2027, 3, 1, 0, 30),       # 01:30 in Berlin, day 1 of a month
    "new-years-eve-2330": datetime(2026, 12, 31, 23, 30),     # already the new year in Berlin
    "dst-spring-forward": datetime(2027, 3, 28, 1, 30),       # 03:30 CEST: the local day has 23 h
    "dst-fall-back": datetime(2026, 10, 25, 0, 30),           # 02:30 CEST: an hour that comes twice
    "last-of-february-2330": datetime(2027, 2, 28, 23, 30),   # 00:30 on March 1st in Berlin
}


def pytest_configure(config):
    config.addinivalue_line("markers", "calendar: runs at today's time and again at each of AWKWARD_INSTANTS")


def pytest_generate_tests(metafunc):
    if metafunc.definition.get_closest_marker("calendar"):
        metafunc.parametrize("calendar_now", [None, *AWKWARD_INSTANTS.values()],
                             ids=["today", *AWKWARD_INSTANTS], indirect=True)


@pytest.fixture(autouse=True)
def calendar_now(request):
    """The instant a `calendar` test runs at (the box's clock moved there); plain tests: real now."""
    instant = getattr(request, "param", None)
    if instant is None:
        yield clock.now()
        return
    with clock.shifted_to(instant) as shifted:
        yield shifted


@pytest.fixture(autouse=True)
def every_test_starts_at_the_same_priority():
    """`appliance drill` lowers its own CPU and I/O priority (it yields to orders on a live box); run
    in-process by a test (CliRunner), it lowers the test process's, and the next tests on that
    worker ran at nice 19, where a child cannot be seen to run lower. Put back after each test (as
    root, which the suite's network namespaces need anyway; elsewhere it stays lowered)."""
    me = psutil.Process()
    nice, io = me.nice(), me.ionice()
    yield
    try:
        if me.nice() != nice:
            os.setpriority(os.PRIO_PROCESS, 0, nice)
        if tuple(me.ionice()) != tuple(io):
            me.ionice(io.ioclass, io.value)
    except (OSError, psutil.Error):
        pass


@pytest.fixture
def smtp_server(tmp_path):
    """A real SMTP server on loopback: STARTTLS, then AUTH as its `username` with "s3cret-pass"."""
    from tests.monitors.monitor_servers import SmtpServer
    server = SmtpServer(tmp_path, username="shop", password="s3cret-pass").start()
    yield server
    server.stop()


@pytest.hookimpl(wrapper=True, tryfirst=True)  # the outermost wrapper: after pytest's own summary
def pytest_terminal_summary(terminalreporter):
    """One line naming the tools whose absence skipped tests (tests/servers/required.py): a local
    run that tested less than CI says so last, below the -ra list."""
    from tests.servers.required import missing_tool_in

    yield

    skips_per_tool: dict[str, int] = {}
    for report in terminalreporter.stats.get("skipped", []):
        reason = report.longrepr[2] if isinstance(report.longrepr, tuple) else str(report.longrepr)
        tool = missing_tool_in(reason)
        if tool:
            skips_per_tool[tool] = skips_per_tool.get(tool, 0) + 1
    if skips_per_tool:
        tools = ", ".join(f"{tool} ({count})" for tool, count in sorted(skips_per_tool.items()))
        terminalreporter.write_line(f"{sum(skips_per_tool.values())} skipped because these tools are missing: "
                                    f"{tools} (CI=true fails them instead)", yellow=True, bold=True)
