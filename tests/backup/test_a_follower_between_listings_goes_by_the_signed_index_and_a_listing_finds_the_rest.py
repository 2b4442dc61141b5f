"""The standby's mirror of the replica (sealed_replica.Mirror) can take the files a pass downloads from
the replica's signed index instead of a listing: one request to the target instead of two, so the
standby can look twice as often for the same requests (issue 12: lag <= 1 s). The index names what
the shipper shipped, no more: a file on the replica the index does not name is left for the next
listing, which the follower makes every few seconds (failover.standby.LISTING_SECONDS)."""
from __future__ import annotations

from appliance import config
from backup import keys, replication, sealed_replica
from backup.replication.config import describe_replica, replica_location, replica_target

from tests.backup.conftest import make_shop
from tests.backup.helpers import sftp_target, write_targets
from tests.backup.replication_helpers import add_orders, caught_up, replication_options
from tests.servers.sshd import sshd_server  # noqa: F401
from tests.servers.waiting import wait_for


def test_an_index_pass_downloads_what_the_index_names_and_a_listing_pass_the_rest(
        settings, db, home, sshd_server, tmp_path):  # noqa: F811
    make_shop(settings, n_orders=2)
    write_targets(home, [sftp_target("nas", sshd_server, "by-index")], replication_options("nas"))
    primary = config.load(home, environ={"APPLIANCE_DATABASE_URL": settings.database.url})
    key = keys.load(primary.path(primary.backup.key_file)).encryption
    remote = sealed_replica.open_replica_target(primary, replica_target(primary), replica_location(primary))
    mirror = sealed_replica.Mirror(primary, replica_target(primary), replica_location(primary),
                                   describe_replica(primary), key, tmp_path / "mirror")
    supervisor = replication.Supervisor(primary).start()
    try:
        wait_for(lambda: caught_up(primary), what="the primary's first sync")
        older_index = tmp_path / "older-index.json"  # (read before the listing below: it names no more)
        remote.get(sealed_replica.INDEX_KEY, older_index)
        first = mirror.sync(None, listing=False)  # nothing applied yet: the restore plan, from a listing
        assert first.downloaded > 0
        applied = first.newest_txid

        add_orders(primary, 3, start=10)
        wait_for(lambda: (shipped := caught_up(primary)) and shipped["replica_txid"] > applied,
                 what="the new orders shipped")
        by_index = mirror.sync(applied, listing=False)
        assert by_index.newest_txid > applied and by_index.downloaded > 0  # the index names the new files
    finally:
        supervisor.stop()

    newest = max(sealed_replica.max_txid(k) for k in remote.list() if sealed_replica.REMOTE_KEY.match(k))
    add_orders(primary, 2, start=20)  # captured, but nobody ships them: the replica holds what it held
    # The index rolled back to an older signed copy (or one written before files were put beside it):
    # a pass by the index sees nothing after `applied`; the listing finds the files all the same.
    remote.put(older_index, sealed_replica.INDEX_KEY)
    for held in mirror.held().values():
        held.unlink()
    stale = mirror.sync(applied, listing=False)
    assert stale.newest_txid == applied and stale.downloaded == 0
    listed = mirror.sync(applied, listing=True)
    assert listed.newest_txid == newest and listed.downloaded > 0
    remote.close()
    mirror.close()
