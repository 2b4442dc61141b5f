"""`appliance failover holds` exits 0 only on the box that may write (keepalived's track script);
`appliance failover status --json` shows role, epoch, lease holder and age, fenced, members
reachable; `failover demote` makes the primary stand by (the other box takes over with a higher
epoch); `failover promote` refuses while the other box holds the lease, in one sentence; `promote
--planned` has the holder hand over, and the new primary's VRRP weight (keepalived's track file) is
the higher one from then on. Both are recorded as operations."""
from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from tests.failover.pair import ROOT, TTL, make_box, wait_until_writing
from tests.servers.etcd import etcd_cluster  # noqa: F401
from tests.servers.waiting import wait_for

pytestmark = pytest.mark.slow


def appliance(box, *args):
    return subprocess.run([sys.executable, "-m", "cli", *args], cwd=ROOT, capture_output=True, text=True,
                          timeout=60, env={**os.environ, "APPLIANCE_HOME": str(box.home)})


def vrrp_weight(box) -> str:
    return (box.home / "fence" / "vrrp-weight").read_text().strip()


def status(box) -> dict:
    done = appliance(box, "failover", "status", "--json")
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def test_status_demote_and_promote(tmp_path, etcd_cluster):
    a = make_box(tmp_path, "box-a", etcd_cluster.endpoints, "primary", "/commands/")
    b = make_box(tmp_path, "box-b", etcd_cluster.endpoints, "standby", "/commands/")
    try:
        a.start(), b.start()
        first = wait_until_writing(a)
        shown = status(a)
        assert (shown["role"], shown["fenced"], shown["lease_holder"]) == ("primary", False, "box-a")
        assert shown["epoch"] == shown["lease_epoch"] == shown["home_epoch"] == first.epoch
        assert shown["members_reachable"] == 3 and 0 <= shown["lease_age_seconds"] <= TTL
        assert 0 <= shown["renewed_seconds_ago"] < TTL
        standby = status(b)
        assert (standby["role"], standby["fenced"], standby["lease_holder"]) == ("standby", True, "box-a")
        holds, stands_by = appliance(a, "failover", "holds"), appliance(b, "failover", "holds")
        assert holds.returncode == 0 and f"box-a holds the lease (epoch {first.epoch})" in holds.stdout
        assert stands_by.returncode == 1 and "This box is fenced: box-a holds the lease" in stands_by.stderr
        assert (vrrp_weight(a), vrrp_weight(b)) == ("50", "0")
        text = appliance(a, "failover", "status")
        assert text.returncode == 0 and "box-a (primary)" in text.stdout and "3 of 3 reachable" in text.stdout

        done = appliance(a, "failover", "demote")
        assert done.returncode == 0, done.stderr
        assert not a.writes()
        second = wait_until_writing(b, timeout=3 * TTL)
        assert second.epoch == first.epoch + 1

        refused = appliance(a, "failover", "promote")
        assert refused.returncode == 1 and "Traceback" not in refused.stderr
        assert len(refused.stderr.strip().splitlines()) == 1
        assert "box-b holds the lease" in refused.stderr and "--planned" in refused.stderr

        done = appliance(a, "failover", "promote", "--planned")
        assert done.returncode == 0, done.stderr
        assert f"box-a is the primary with epoch {first.epoch + 2}" in done.stdout
        assert a.writes() and not b.writes() and vrrp_weight(a) == "50"
        wait_for(lambda: vrrp_weight(b) == "0", timeout=2 * TTL, what="box-b's VRRP weight to drop", step=0.05)
        # box-b's own holder may still be on its way out ("a planned switchover … is under way"): wait
        # for the reason it settles on, never writing meanwhile.
        settled = ("it handed over to box-a (planned switchover)", f"box-a holds the lease (epoch {first.epoch + 2})")
        wait_for(lambda: not b.writes() and b.permit().reason in settled, timeout=2 * TTL,
                 what="box-b's permit to say why it stands by", step=0.05)

        runs = appliance(a, "operations", "runs")
        assert "failover.promote" in runs.stdout and "failover.demote" in runs.stdout
    finally:
        a.stop(), b.stop()
