"""No needless failover: the witness's etcd member dies — even while it is etcd's leader — and the
primary never stops writing (the two boxes' members still make a quorum); the standby never writes."""
from __future__ import annotations

import json
import time
import urllib.request

import pytest

from appliance import fencing
from tests.failover.pair import TTL, make_box, wait_until_writing
from tests.servers.etcd import start_etcd_cluster

pytestmark = pytest.mark.slow


def _is_leader(member) -> bool:
    request = urllib.request.Request(member.client_url + "/v3/maintenance/status", data=b"{}", method="POST")
    with urllib.request.urlopen(request, timeout=2) as answer:
        body = json.loads(answer.read())
    return body["leader"] == body["header"]["member_id"]


def test_the_primary_keeps_writing_when_the_witness_dies_even_as_etcds_leader(tmp_path):
    cluster = start_etcd_cluster(tmp_path / "etcd")
    witness = next(m for m in cluster.members if _is_leader(m))  # the harshest witness: etcd's leader
    a = make_box(tmp_path, "box-a", cluster.endpoints, "primary", "/witness/")
    b = make_box(tmp_path, "box-b", cluster.endpoints, "standby", "/witness/")
    try:
        a.start(), b.start()
        first = wait_until_writing(a)
        time.sleep(TTL)  # the standby is past its start-up hold-off and contends
        witness.kill()
        deadline = time.monotonic() + 2 * TTL  # past any fence deadline and any lease expiry
        gaps = []
        while time.monotonic() < deadline:
            now = fencing.boot_clock()
            if not a.writes(now):
                gaps.append(now)
            assert not b.writes(now)
            time.sleep(0.01)
        assert gaps == [], f"box A stopped writing ({a.log()})"
        assert a.permit().epoch == first.epoch, "no failover happened"
    finally:
        a.stop(), b.stop()
        cluster.stop()
