"""On a box of a pair, Litestream and the replica shipper run only while the box may write: a
standby (or a fenced primary) ships nothing to the replica location it shares with the primary —
a shipper removes there what its own outbox never held — and replication starts once the box holds
the lease, and stops again when it is fenced."""
from __future__ import annotations

from appliance import fencing
from appliance.processes import ProcessRecord
from backup.jobs import ReplicatingWhileWriting

from tests.servers.waiting import wait_for

from .helpers import sftp_target
from .replication_helpers import caught_up, replication_options


def _permit(home, granted: bool) -> None:
    fencing.write_permit(home, fencing.Permit(granted, fencing.boot_clock() + 3600 if granted else 0.0,
                                              fencing.boot_id(), 4, "box-b",
                                              "holds the lease (epoch 4)" if granted else "box-a holds the lease"))


def test_replication_follows_the_write_permit(shop, configure, home, sshd_server):
    settings = configure(sftp_target("nas", sshd_server, "shared"), **replication_options("nas"))
    remote = sshd_server.root / "shared-litestream"
    _permit(home, granted=False)
    replicating = ReplicatingWhileWriting(settings)
    try:
        replicating.check()
        assert replicating.supervisor is None and not remote.exists()  # a standby: nothing shipped

        _permit(home, granted=True)
        replicating.check()
        assert replicating.supervisor is not None
        wait_for(lambda: caught_up(settings), what="the replica to be shipped once the box may write")
        litestream = replicating.supervisor.litestream.record
        assert litestream is not None and litestream.running()

        _permit(home, granted=False)  # fenced
        replicating.check()
        assert replicating.supervisor is None
        assert not ProcessRecord.of(litestream.pid) or not litestream.running()
    finally:
        replicating.stop()


def test_without_failover_it_always_replicates(shop, configure, home, sshd_server):
    settings = configure(sftp_target("nas", sshd_server, "alone"), **replication_options("nas"))
    fencing.remove_permit(home)
    replicating = ReplicatingWhileWriting(settings)
    try:
        replicating.check()
        assert replicating.supervisor is not None
        wait_for(lambda: caught_up(settings), what="the replica")
    finally:
        replicating.stop()
