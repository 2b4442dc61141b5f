"""The lease holder process crashes (SIGKILL) and is restarted (systemd's Restart=always) before its
lease expires: the new one adopts the box's own lease — same epoch, no failover — even when the
box's config now hints `standby` (after an earlier failover the hint is stale); the other box never
writes meanwhile."""
from __future__ import annotations

import os
import signal
import time

import pytest

from appliance import fencing
from tests.failover.pair import make_box, wait_until_writing
from tests.servers.etcd import etcd_cluster  # noqa: F401

pytestmark = pytest.mark.slow

# A long TTL: the restarted process must come up before the lease expires, even on a loaded machine.
SLOW = dict(lease_ttl_seconds=12, renew_interval_seconds=1.0, retries=2, fence_margin_seconds=3.0)


def test_a_crashed_holder_restarted_in_time_adopts_its_lease(tmp_path, etcd_cluster):
    a = make_box(tmp_path, "box-a", etcd_cluster.endpoints, "primary", "/restart/", **SLOW)
    b = make_box(tmp_path, "box-b", etcd_cluster.endpoints, "primary", "/restart/", **SLOW)
    try:
        a.start()
        first = wait_until_writing(a)
        b.start()
        config = a.home / "appliance.toml"
        config.write_text(config.read_text().replace('role = "primary"', 'role = "standby"'))
        os.kill(a.process.pid, signal.SIGKILL)
        a.process.wait()
        killed = fencing.boot_clock()
        a.start()
        while not (a.writes() and a.state().get("pid") == a.process.pid):
            assert not b.writes(fencing.boot_clock()), "no failover"
            assert fencing.boot_clock() - killed < 12, f"box A did not adopt its lease in time ({a.log()})"
            time.sleep(0.02)
        assert a.permit().epoch == first.epoch, "adopted: no new epoch"
        assert not b.writes()
    finally:
        a.stop(), b.stop()
