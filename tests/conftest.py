"""Shared fixtures: a fresh home folder and database per test, users of every role.

The database engine is SQLite unless a test module asks for PostgreSQL (see tests/servers/postgres.py).
"""
from __future__ import annotations

import base64
import os
import secrets
from pathlib import Path

import pytest

from appliance import config, runtime
from appliance.db import database
from appliance.schema import migrate
from tests.servers.postgres import postgres_server, postgres_url  # noqa: F401


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
        return request.getfixturevalue("postgres_server").create_database()
    return database_url


@pytest.fixture
def settings(home: Path, database_url: str) -> config.Settings:
    return config.load(home, environ={"APPLIANCE_DATABASE_URL": database_url})


@pytest.fixture
def db(settings: config.Settings):
    from appliance.cli.wiring import extra_models
    runtime.connect(settings)
    migrate(extra_models())
    yield database
    runtime.close()
