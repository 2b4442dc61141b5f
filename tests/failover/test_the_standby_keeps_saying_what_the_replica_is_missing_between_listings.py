"""The standby's follower lists the replica only every few seconds and goes by its signed index in
between; the index cannot show that files it names were removed from the replica, the listing can.
What the last listing found missing stays in the standby's facts (`failover status`) through the
passes by the index, until a listing finds the replica whole again."""
from __future__ import annotations

import shutil

from appliance import config
from backup import replication, sealed_replica
from backup.replication.config import replica_location, replica_target
from failover import standby

from tests.backup.conftest import make_shop
from tests.backup.helpers import sftp_target, write_targets
from tests.backup.replication_helpers import add_orders, caught_up, replication_options
from tests.servers.sshd import sshd_server  # noqa: F401
from tests.servers.waiting import wait_for


def test_what_a_listing_found_missing_stays_through_the_passes_by_the_index(
        settings, db, home, sshd_server, tmp_path):  # noqa: F811
    make_shop(settings, n_orders=2)
    write_targets(home, [sftp_target("nas", sshd_server, "missing")], replication_options("nas"))
    primary = config.load(home, environ={"APPLIANCE_DATABASE_URL": settings.database.url})
    supervisor = replication.Supervisor(primary).start()
    try:
        wait_for(lambda: caught_up(primary), what="the primary's first sync")
        add_orders(primary, 3, start=10)
        wait_for(lambda: caught_up(primary), what="the new orders shipped")
    finally:
        supervisor.stop()
    remote = sealed_replica.open_replica_target(primary, replica_target(primary), replica_location(primary))
    files = [k for k in remote.list() if sealed_replica.REMOTE_KEY.match(k)]
    newest = max(files, key=sealed_replica.max_txid)
    remote.delete(newest)  # behind the shipper's back: its index still names it
    remote.close()
    remaining = max(sealed_replica.max_txid(k) for k in files if k != newest)

    b_home = tmp_path / "box-b"
    b_home.mkdir()
    shutil.copy(home / config.CONFIG_FILE, b_home / config.CONFIG_FILE)
    shutil.copytree(home / "keys", b_home / "keys")
    follower = standby.Follower(config.load(b_home, environ={"APPLIANCE_DATABASE_URL": "sqlite:///appliance.db"}))
    _, _, copy = standby.paths(follower.settings)
    try:
        copy.parent.mkdir(parents=True)
        copy.write_bytes(b"")  # a copy Litestream has brought up to the last file the replica still holds
        copy.with_name(copy.name + "-txid").write_text(f"{remaining:016x}\n")

        listed = follower.sync_once(listing=True)
        assert listed.missing and f"{sealed_replica.max_txid(newest)}" in listed.missing
        by_index = follower.sync_once(listing=False)
        assert by_index.missing == listed.missing
        assert standby.read_facts(follower.settings)["missing"] == listed.missing
    finally:
        follower.mirror.close()
