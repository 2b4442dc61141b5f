"""SQLite writers queue for the write lock (appliance.db._WriterTurn) instead of busy-polling.

A writer that finds another transaction open waits and then runs as soon as it commits; a writer
that waits longer than busy_timeout gets SQLite's own error, "database is locked" (a 503 in the
API, nothing written), never a hang.
"""
from __future__ import annotations

import threading
import time

import peewee
import pytest

from appliance import config, runtime
from appliance.db import database, write_transaction
from appliance.models import KeyValue, utcnow


@pytest.fixture
def database_url() -> str:
    return "sqlite:///appliance.db"


def hold_write_lock(seconds: float, started: threading.Event) -> threading.Thread:
    def run() -> None:
        try:
            with write_transaction():
                KeyValue.create(key="holder", value="1", updated_at=utcnow())
                started.set()
                time.sleep(seconds)
        finally:
            database.close()
    thread = threading.Thread(target=run)
    thread.start()
    return thread


def test_a_waiting_writer_runs_right_after_the_holder_commits(settings, db):
    started = threading.Event()
    holder = hold_write_lock(0.5, started)
    assert started.wait(10)
    with write_transaction():
        # Only reachable once the holder committed: its row is visible to this transaction.
        assert KeyValue.get_or_none(KeyValue.key == "holder") is not None
        KeyValue.create(key="waiter", value="1", updated_at=utcnow())
    holder.join(10)
    assert KeyValue.select().where(KeyValue.key.in_(["holder", "waiter"])).count() == 2


def test_a_writer_waiting_longer_than_busy_timeout_gets_database_is_locked(home, db):
    runtime.close()
    settings = config.load(home, environ={"APPLIANCE_DATABASE_URL": "sqlite:///appliance.db",
                                          "APPLIANCE_DATABASE_BUSY_TIMEOUT_MS": "200"})
    runtime.connect(settings)
    started = threading.Event()
    holder = hold_write_lock(1.5, started)
    assert started.wait(10)
    t0 = time.monotonic()
    with pytest.raises(peewee.OperationalError, match="database is locked"):
        with write_transaction():
            KeyValue.create(key="too-late", value="1", updated_at=utcnow())
    assert time.monotonic() - t0 < 1.4  # gave up after ~busy_timeout, did not wait for the holder
    holder.join(10)
    with write_transaction():  # the turn was given back: the next writer proceeds
        KeyValue.create(key="after", value="1", updated_at=utcnow())
    assert KeyValue.get_or_none(KeyValue.key == "too-late") is None
