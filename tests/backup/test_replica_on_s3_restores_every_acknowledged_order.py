"""Litestream, supervised by the appliance, streams the WAL to S3 (weed mini); its lag is exposed to
the monitors; `appliance restore --from-replica` brings back every order, checked like a restore."""
from __future__ import annotations

from backup import replication
from backup.status import monitor_facts

from tests.servers.waiting import wait_for

from .helpers import order_rows, s3_target, sqlite_counts
from .replication_helpers import add_orders, alive, caught_up, replication_options


def test_orders_streamed_to_s3_come_back_from_the_replica(shop, configure, home, tmp_path, s3_server, cli):
    bucket = s3_server.new_bucket()
    settings = configure(s3_target("offsite", s3_server, bucket, home), **replication_options("offsite"))
    supervisor = replication.Supervisor(settings).start()
    try:
        wait_for(lambda: caught_up(settings), what="the first sync")
        add_orders(settings, 20)
        facts = wait_for(lambda: caught_up(settings), what="the replica to catch up")
        litestream_pid = facts["litestream_pid"]

        reported = monitor_facts(settings)["replication"]
        assert reported["running"] is True and reported["lag_seconds"] is not None
        assert reported["lag_seconds"] < settings.recovery.rpo_seconds
        keys = [o["Key"] for o in s3_server.client().list_objects_v2(Bucket=bucket)["Contents"]]
        assert keys and all(k.startswith("shop1-litestream/") for k in keys)  # beside the backups
        assert "AWS_SECRET" not in (home / "run" / "litestream.yml").read_text()
        assert "appliance-test-secret" not in (home / "run" / "litestream.yml").read_text()
    finally:
        supervisor.stop()
    assert not alive(litestream_pid)
    assert monitor_facts(settings)["replication"]["running"] is False

    out = tmp_path / "from-replica.db"
    result = cli("restore", "--from-replica", "--output", str(out))

    assert result.exit_code == 0, result.output
    assert "restored the replica s3://" in result.output
    assert order_rows(out) == order_rows(home / "appliance.db")
    assert sqlite_counts(out) == sqlite_counts(home / "appliance.db")
    refused = cli("restore", "--from-replica", "--output", str(out))
    assert refused.exit_code == 1 and "--force" in refused.output
