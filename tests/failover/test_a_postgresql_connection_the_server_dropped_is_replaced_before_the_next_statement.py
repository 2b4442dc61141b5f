"""After a Patroni failover or switchover the old primary's PostgreSQL is gone or demoted, and every
connection the appliance held to it was ended by the server. The next statement outside a transaction
gets a new connection (with a multi-host URL, to whichever host accepts writes now) instead of failing
on the dead one for ever (peewee keeps it as if open); a transaction whose connection dies fails with
the database's own error, not with a failed ROLLBACK on the dead connection. Real PostgreSQL; the
server ends the connection with pg_terminate_backend, as a shutdown or a demotion does."""
from __future__ import annotations

import peewee
import psycopg2
import pytest

from appliance import runtime
from appliance.db import _dropped, database, init_database
from tests.servers.waiting import wait_for


def _backend() -> int:
    return database.execute_sql("SELECT pg_backend_pid()").fetchone()[0]


def _terminated_by_the_server(url: str, pid: int) -> None:
    other = psycopg2.connect(url)
    try:
        other.autocommit = True
        other.cursor().execute("SELECT pg_terminate_backend(%s)", (pid,))
    finally:
        other.close()


@pytest.fixture
def connected(postgres_url, tmp_path):
    init_database(postgres_url, tmp_path)
    database.connect(reuse_if_open=True)
    yield postgres_url
    runtime.close()


def test_an_idle_connection_the_server_ended_is_replaced(connected):
    first = _backend()
    _terminated_by_the_server(connected, first)
    wait_for(lambda: _dropped(database.connection()), timeout=5, what="the server's goodbye on the socket")
    assert _backend() != first
    assert database.execute_sql("SELECT 1").fetchone() == (1,)


def test_a_transaction_whose_connection_dies_fails_with_the_database_error_and_the_next_one_works(connected):
    with pytest.raises(peewee.OperationalError):
        with database.atomic():
            pid = _backend()
            _terminated_by_the_server(connected, pid)
            database.execute_sql("SELECT 1")
    assert database.execute_sql("SELECT 1").fetchone() == (1,)
    assert _backend() != pid
