"""A replica restore (and a replica verify) works while the box keeps writing: Litestream compacts
its small files and removes them a few minutes later, and the shipper then removes them from the
replica, so a file listed by a restore can be gone when its turn to download comes. The restore
lists the replica again, mirrors the new listing and succeeds with every acknowledged order; a
listing with a gap in it (read while the shipper changed several levels) is listed again too."""
from __future__ import annotations

import threading

from backup import replication, sealed_replica
from backup.errors import MissingObject

from tests.servers.waiting import wait_for

from .helpers import sftp_target
from .replication_helpers import add_orders, caught_up, order_numbers, replication_options


class CompactingReplica:
    """The replica's real target; the first time a restore downloads, one file of the restore's plan
    after its snapshot (level 0 where it can) is deleted from the server first, as the shipper does after Litestream compacted it into a
    file shipped after the restore listed (here the shipper ships the lost file again): the restore
    has lost a file it listed and needs."""

    def __init__(self, target, log: dict):
        self._target, self.log = target, log

    def list(self):
        keys = self._target.list()
        self.log["listings"].append(keys)
        return keys

    def get_stream(self, key, sink, progress=None):  # the index is read with `get`, before each listing
        if not self.log["deleted"]:
            listed = [k for k in self.log["listings"][-1] if sealed_replica.REMOTE_KEY.match(k)]
            plan = sealed_replica.restore_plan(listed)[0]
            # a level-0 file; a level-1 file when Litestream compacted them already (a loaded machine)
            needed = sorted((k for k in plan if not k.startswith("9/")), key=lambda k: not k.startswith("0/"))
            assert needed, f"nothing after the snapshot on the restore plan of {listed}"
            self._target.delete(needed[0])
            self.log["deleted"].append(needed[0])
        try:
            return self._target.get_stream(key, sink, progress)
        except MissingObject:
            self.log["missed"].append(key)
            raise

    def __getattr__(self, name):
        return getattr(self._target, name)


def _compacting(monkeypatch) -> dict:
    log = {"listings": [], "deleted": [], "missed": []}
    real = sealed_replica.open_replica_target
    monkeypatch.setattr(sealed_replica, "open_replica_target",
                        lambda *args: CompactingReplica(real(*args), log))
    return log


def _writing(settings, stop: threading.Event, start: int) -> threading.Thread:
    def write():
        n = start
        while not stop.is_set():
            add_orders(settings, 1, start=n)
            n += 1
            stop.wait(0.05)
    thread = threading.Thread(target=write, name="orders", daemon=True)
    thread.start()
    return thread


def test_a_restore_that_loses_a_listed_file_to_compaction_lists_again_and_has_every_acknowledged_order(
        shop, configure, sshd_server, tmp_path, cli, monkeypatch):
    settings = configure(sftp_target("nas", sshd_server, "compacting"), **replication_options("nas"))
    supervisor = replication.Supervisor(settings).start()
    stop = threading.Event()
    try:
        first = wait_for(lambda: caught_up(settings), what="the first sync")["local_txid"]
        acknowledged = []
        for batch in range(4):  # a few level-0 files beside the snapshot
            acknowledged += add_orders(settings, 3, start=batch * 3)
            first = wait_for(lambda: (f := caught_up(settings)) and f["local_txid"] > first and f,
                             what="the replica to catch up")["local_txid"]
        log = _compacting(monkeypatch)
        writer = _writing(settings, stop, start=100)  # the box keeps writing through the restore

        out = tmp_path / "from-replica.db"
        result = cli("restore", "--from-replica", "--output", str(out), "--quiet")

        assert result.exit_code == 0, result.output
        assert log["deleted"] and log["missed"] == log["deleted"]  # it did lose a listed file
        assert len(log["listings"]) >= 2  # listed again (the shipper may have shipped it back meanwhile)
        assert set(acknowledged) <= order_numbers(out)

        log = _compacting(monkeypatch)
        verified = replication.verify(settings, show_progress=False)  # the replica verify, the same way
        assert log["missed"] and verified.counts["orders"] >= len(acknowledged)
    finally:
        stop.set()
        supervisor.stop()
    writer.join(10)


class GappedListing:
    """The first listing misses the files a shipper pass had just replaced and uploaded (read level by
    level while it changed them): every level-0 file after the snapshot but the last is absent."""

    def __init__(self, target, log: dict):
        self._target, self.log = target, log

    def list(self):
        keys = self._target.list()
        if not self.log["listings"]:
            snapshot_end = max(sealed_replica.max_txid(k) for k in keys if k.startswith("9/"))
            after = sorted(k for k in keys if k.startswith("0/") and sealed_replica.max_txid(k) > snapshot_end)
            keys = [k for k in keys if k not in after[:-1] and not k.startswith(("1/", "2/", "3/"))]
        self.log["listings"].append(keys)
        return keys

    def __getattr__(self, name):
        return getattr(self._target, name)


def test_a_listing_with_a_gap_in_it_is_listed_again_before_anything_is_restored(
        shop, configure, sshd_server, tmp_path, monkeypatch):
    settings = configure(sftp_target("nas", sshd_server, "gapped"), **replication_options("nas"))
    supervisor = replication.Supervisor(settings).start()
    try:
        first = wait_for(lambda: caught_up(settings), what="the first sync")["local_txid"]
        acknowledged = []
        for batch in range(3):
            acknowledged += add_orders(settings, 2, start=batch * 2)
            first = wait_for(lambda: (f := caught_up(settings)) and f["local_txid"] > first and f,
                             what="the replica to catch up")["local_txid"]
    finally:
        supervisor.stop()
    log = {"listings": []}
    real = sealed_replica.open_replica_target
    monkeypatch.setattr(sealed_replica, "open_replica_target", lambda *args: GappedListing(real(*args), log))
    out = tmp_path / "from-replica.db"

    replication.restore(settings, output=str(out), show_progress=False)

    assert len(log["listings"]) == 2 and sealed_replica.chain_gap(log["listings"][0]) is not None
    assert set(acknowledged) <= order_numbers(out)
