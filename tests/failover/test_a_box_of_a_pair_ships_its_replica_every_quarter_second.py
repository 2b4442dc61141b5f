"""A killed primary loses what it had not synced and shipped, and a pair promises at most its last
second: on a box of a SQLite pair Litestream reads the WAL (`monitor-interval`, 1 s by default in
v0.5 whatever the sync interval) and syncs every quarter second at most. A single box keeps its
configured sync interval and Litestream's own monitor interval."""
from appliance import config
from backup.replication.config import config_text
from tests.failover.pair import failover_toml


def _litestream_yml(home) -> str:
    settings = config.load(home)
    return config_text(settings, home / "appliance.db", home / "outbox")


def test_a_box_of_a_pair_reads_and_syncs_the_wal_every_quarter_second(home):
    with open(home / config.CONFIG_FILE, "a") as f:
        f.write(failover_toml("box-a", ["http://127.0.0.1:2379"], "primary", "/t/"))
    text = _litestream_yml(home)
    assert "    monitor-interval: 250ms\n" in text and "      sync-interval: 250ms\n" in text


def test_a_single_box_keeps_its_configured_sync_interval(home):
    text = _litestream_yml(home)
    assert "monitor-interval" not in text and "      sync-interval: 1000ms\n" in text
