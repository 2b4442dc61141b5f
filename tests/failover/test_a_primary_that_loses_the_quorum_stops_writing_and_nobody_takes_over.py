"""Two of the three etcd members die: the primary can no longer renew its lease, so it stops writing
before the lease could expire; the standby cannot take a lease without the quorum either: for as
long as the quorum is gone, no box writes (safety over availability)."""
from __future__ import annotations

import time

import pytest

from appliance import fencing
from tests.failover.pair import TTL, make_box, wait_until_writing
from tests.servers.etcd import start_etcd_cluster
from tests.servers.waiting import wait_for

pytestmark = pytest.mark.slow


def test_without_the_quorum_the_primary_fences_itself_and_nobody_writes(tmp_path):
    cluster = start_etcd_cluster(tmp_path / "etcd")
    a = make_box(tmp_path, "box-a", cluster.endpoints, "primary", "/quorum/")
    b = make_box(tmp_path, "box-b", cluster.endpoints, "standby", "/quorum/")
    try:
        a.start(), b.start()
        wait_until_writing(a)
        cluster.members[1].kill()
        cluster.members[2].kill()
        killed_at = fencing.boot_clock()
        fenced_seen = wait_for(lambda: not a.writes() and fencing.boot_clock(), timeout=TTL + 2,
                               what="box A to fence itself", step=0.01)
        state = a.state()
        assert killed_at < fenced_seen < state["expires_at"], "fenced before the lease could expire"
        deadline = time.monotonic() + 1.5 * TTL  # longer than any lease could outlive its holder
        while time.monotonic() < deadline:
            assert not a.writes() and not b.writes()
            time.sleep(0.05)
    finally:
        a.stop(), b.stop()
        cluster.stop()
