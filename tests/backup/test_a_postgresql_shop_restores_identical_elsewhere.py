"""On PostgreSQL: pg_dump inside the counted snapshot, verify into a scratch database, restore into
an empty database elsewhere: identical business data."""
from __future__ import annotations

import pytest

from appliance import stats
from appliance.db import open_database
from backup.restore import restore
from backup.run import run_backup
from backup.snapshot import counts_of
from backup.verify import verify

from .helpers import local_target, sftp_target

pytestmark = pytest.mark.postgres


@pytest.fixture
def database_url(postgres_server) -> str:
    return postgres_server.create_database()


def _orders(url: str) -> list[tuple]:
    db = open_database(url)
    try:
        return db.execute_sql("SELECT number, status, total_cents FROM orders ORDER BY number").fetchall()
    finally:
        db.close()


def test_a_postgresql_shop_round_trips_through_sftp_and_verifies(shop, configure, tmp_path, sshd_server,
                                                                 postgres_server):
    settings = configure(local_target("disk", tmp_path / "disk"), sftp_target("nas", sshd_server, "pg"))
    before = stats.business_counts()
    report = run_backup(settings, show_progress=False)
    assert report.failed == {}

    assert [o.ok for o in verify(settings, show_progress=False)] == [True, True]

    empty = postgres_server.create_database(template=False)
    restored = restore(settings, target="nas", output=empty, show_progress=False)
    assert restored.counts == before
    assert counts_of(open_database(empty)) == before
    assert _orders(empty) == _orders(settings.database.url)


def test_restore_refuses_a_postgresql_database_that_has_tables(shop, configure, tmp_path):
    from backup.errors import RestoreRefused
    settings = configure(local_target("disk", tmp_path / "disk"))
    run_backup(settings, show_progress=False)
    with pytest.raises(RestoreRefused):
        restore(settings, show_progress=False)
