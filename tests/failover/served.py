"""A box of a pair with its database, for the tests of what the monitors, /metrics and /ops show:
box-a's home is the tests' `home` (the `settings` and `db` fixtures then load it with [failover]
enabled), box-b a second home; both lease holders run against the module's real etcd cluster.

    from tests.failover.served import pair, settings  # noqa: F401
"""
from __future__ import annotations

import pytest

from appliance import config
from tests.failover.pair import Box, failover_toml, make_box, wait_until_writing


@pytest.fixture
def pair(tmp_path, home, etcd_cluster):
    """(box-a, box-b) running, box-a the primary and writing; a key prefix of this test's own."""
    prefix = f"/{tmp_path.name}/"
    with open(home / "appliance.toml", "a") as f:
        f.write(failover_toml("box-a", etcd_cluster.endpoints, "primary", prefix))
    a = Box("box-a", home)
    b = make_box(tmp_path, "box-b", etcd_cluster.endpoints, "standby", prefix)
    try:
        a.start(), b.start()
        wait_until_writing(a)
        yield a, b
    finally:
        a.stop(), b.stop()


@pytest.fixture
def settings(pair, home, database_url) -> config.Settings:
    """box-a's settings, loaded once its lease holder lets it write (the database is made next)."""
    return config.load(home, environ={"APPLIANCE_DATABASE_URL": database_url})


def box_settings(box: Box, database_url: str = "sqlite:///appliance.db") -> config.Settings:
    return config.load(box.home, environ={"APPLIANCE_DATABASE_URL": database_url})
