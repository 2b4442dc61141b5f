"""Two boxes started at the same instant, both hinting `primary`, against one real 3-member etcd:
exactly one takes the lease; at no instant may both write; when the holder stops, the other takes
over with a higher epoch, and still never while the first could write."""
from __future__ import annotations

import time

import pytest

from appliance import fencing
from tests.failover.pair import make_box, wait_until_writing
from tests.servers.etcd import etcd_cluster  # noqa: F401
from tests.servers.waiting import wait_for

pytestmark = pytest.mark.slow


def _watch(boxes, seconds: float, samples: list) -> None:
    """Both boxes' write decisions at the same instants, every 10 ms."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        now = fencing.boot_clock()
        samples.append(tuple(box.writes(now) for box in boxes))
        time.sleep(0.01)


def test_exactly_one_box_writes_and_the_other_takes_over_only_after(tmp_path, etcd_cluster):
    a = make_box(tmp_path, "box-a", etcd_cluster.endpoints, "primary", "/only-one/")
    b = make_box(tmp_path, "box-b", etcd_cluster.endpoints, "primary", "/only-one/")
    try:
        a.start(), b.start()
        wait_for(lambda: a.writes() or b.writes(), timeout=15, what="either box to take the lease")
        samples: list[tuple[bool, bool]] = []
        _watch((a, b), 2.0, samples)
        assert samples and all(sum(s) == 1 for s in samples), "one box, and only one, writes the whole time"
        holder, other = (a, b) if a.writes() else (b, a)
        first = holder.permit()
        assert first.epoch >= 1 and not other.writes()

        holder.stop()  # SIGTERM: it stops writing, then gives the lease back
        samples.clear()
        _watch((a, b), 0.2, samples)
        wait_until_writing(other)
        _watch((a, b), 1.0, samples)
        assert not any(all(s) for s in samples), "never both at once"
        assert other.permit().epoch == first.epoch + 1
        assert not holder.writes()
        assert "handed" not in holder.permit().reason and "stopped" in holder.permit().reason
    finally:
        a.stop(), b.stop()
