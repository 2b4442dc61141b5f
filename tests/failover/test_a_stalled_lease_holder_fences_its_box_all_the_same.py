"""The renewing loop itself stalls (its process SIGSTOPped, as a hung VM or a stuck thread would): no
process notices anything, yet the box stops writing at its permit's deadline, before its lease can
expire; the standby takes over only after the expiry; the old holder, resumed, sees its lease gone
and stays fenced."""
from __future__ import annotations

import time

import pytest

from appliance import fencing
from tests.failover.pair import TTL, make_box, wait_until_writing
from tests.servers.etcd import etcd_cluster  # noqa: F401
from tests.servers.waiting import wait_for

pytestmark = pytest.mark.slow


def test_a_stopped_holder_process_fences_its_box_before_its_lease_expires(tmp_path, etcd_cluster):
    a = make_box(tmp_path, "box-a", etcd_cluster.endpoints, "primary", "/stalled/")
    b = make_box(tmp_path, "box-b", etcd_cluster.endpoints, "standby", "/stalled/")
    try:
        a.start(), b.start()
        first = wait_until_writing(a)
        a.pause()
        state = a.state()
        paused_permit = a.permit()
        fenced_seen = wait_for(lambda: not a.writes() and fencing.boot_clock(), timeout=TTL + 2,
                               what="box A's permit to run out", step=0.01)
        assert paused_permit.until <= fenced_seen < state["expires_at"], "refused from the deadline on, before expiry"
        assert not b.writes()

        second = wait_until_writing(b, timeout=3 * TTL)
        assert second.epoch == first.epoch + 1
        assert b.state()["taken_at"] > state["expires_at"]

        a.resume()
        wait_for(lambda: "expired" in a.permit().reason, timeout=5, what="box A to see its lease gone")
        deadline = time.monotonic() + 1.5
        while time.monotonic() < deadline:
            assert not a.writes() and b.writes()
            time.sleep(0.02)
    finally:
        a.stop(), b.stop()
