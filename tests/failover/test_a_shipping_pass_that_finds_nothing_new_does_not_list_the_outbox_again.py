"""The primary's shipper runs a pass four times a second, and Litestream keeps minutes of level-0 files
in the outbox (~4 a second on a pair, 286 after a minute of orders and growing): listing them all,
a stat each, cost a pass ~11 µs a file. A level folder that has not changed since a listing
made after it settled (its mtime, a second old then) is not listed again: a pass that finds nothing
new stats a handful of folders. A file Litestream renames into a folder, or removes, changes the
folder: the next pass lists that folder again and finds it."""
from __future__ import annotations

import os
import time

from appliance import config
from backup import keys, sealed_replica
from backup.replication.config import describe_replica, outbox_dir, replica_location, replica_target

from tests.backup.helpers import sftp_target, write_targets
from tests.backup.replication_helpers import replication_options
from tests.servers.sshd import sshd_server  # noqa: F401

FILES = 300
LTX_LIKE = bytes(64)  # sealed and shipped as they are; the header's time field reads 0


def _outbox(settings) -> tuple:
    outbox = outbox_dir(settings)
    snapshot, level0 = outbox / "ltx" / "9", outbox / "ltx" / "0"
    snapshot.mkdir(parents=True), level0.mkdir(parents=True)
    (snapshot / f"{1:016x}-{1:016x}.ltx").write_bytes(LTX_LIKE)
    for txid in range(2, FILES + 2):
        (level0 / f"{txid:016x}-{txid:016x}.ltx").write_bytes(LTX_LIKE)
    return outbox, level0


def _settle(*folders) -> None:
    """As Litestream's folders are between its files: last changed over a second ago."""
    earlier = time.time() - 2
    for folder in folders:
        os.utime(folder, (earlier, earlier))


def test_a_quiet_outbox_is_not_listed_again_and_a_new_file_is_found_at_once(home, sshd_server):  # noqa: F811
    write_targets(home, [sftp_target("nas", sshd_server, "quiet")], replication_options("nas", probe_interval_seconds=3600))
    settings = config.load(home, environ={"APPLIANCE_DATABASE_URL": "sqlite:///appliance.db"})
    outbox, level0 = _outbox(settings)
    shipper = sealed_replica.Shipper(settings, replica_target(settings), replica_location(settings),
                                     describe_replica(settings), outbox,
                                     keys.load(settings.path(settings.backup.key_file)).encryption)
    try:
        _settle(level0, level0.parent / "9")
        assert shipper.ship_once()  # every file shipped; the folders listed after they settled
        assert shipper.replica_txid == FILES + 1

        started = time.process_time()
        for _ in range(20):
            assert not shipper.ship_once()
        idle = (time.process_time() - started) / 20
        started = time.process_time()
        for _ in range(20):
            sealed_replica.outbox_files(outbox)
        listing = (time.process_time() - started) / 20
        assert idle < listing / 5, f"a pass that found nothing new took {idle * 1e3:.2f} ms, a listing {listing * 1e3:.2f}"

        newest = FILES + 2
        (level0 / "new.ltx.tmp").write_bytes(LTX_LIKE)  # Litestream's way: written aside, renamed in
        os.replace(level0 / "new.ltx.tmp", level0 / f"{newest:016x}-{newest:016x}.ltx")
        assert shipper.ship_once()
        assert shipper.replica_txid == newest

        (level0 / f"{newest:016x}-{newest:016x}.ltx").unlink()  # compacted away: the replica follows
        assert shipper.ship_once()
        assert shipper.replica_txid == FILES + 1
    finally:
        shipper.close()
