"""Durability and concurrency tests: run on SQLite and on a real PostgreSQL cluster where it makes sense.

`database_url` here is parametrised, so every test using `settings`/`db` runs on both engines.
`served` starts real `appliance serve` processes (homes made by `appliance init`) and stops them all
at the end of the test, also when it fails.
"""
from __future__ import annotations

from pathlib import Path

import pytest

from tests.durability.served import ServedAppliance

ENGINES = ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)]


def url_for(engine: str, request) -> str | None:
    """None for SQLite (the home's default file), a fresh migrated database for PostgreSQL."""
    if engine == "sqlite":
        return None
    return request.getfixturevalue("postgres_url")  # dropped after the test: a session keeps no clones


@pytest.fixture(params=ENGINES)
def engine(request) -> str:
    return request.param


@pytest.fixture
def database_url(engine: str, request) -> str:
    return url_for(engine, request) or "sqlite:///appliance.db"


@pytest.fixture
def served(tmp_path: Path):
    """Factory: served(url=None) -> an initialised (not yet started) ServedAppliance."""
    made: list[ServedAppliance] = []

    def make(url: str | None = None, name: str = "box", env: dict | None = None) -> ServedAppliance:
        box = ServedAppliance(tmp_path / name, url, env).init()
        made.append(box)
        return box

    yield make
    for box in made:
        box.stop()
