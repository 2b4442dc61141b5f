"""The pair's checks against a real etcd cluster: on a healthy pair the primary's and the standby's
failover_lease, failover_members and failover_fenced are ok; a primary whose lease holder stalls is
fenced while it still holds the lease (failover_fenced and failover_lease crit), and once its lease
expired with no standby to take over, nobody holds it (crit); one etcd member down warns, two lost
are crit (the quorum is gone)."""
from __future__ import annotations

import pytest

from appliance.models import utcnow
from monitors import engine
from monitors.checks import catalog, config_for
from tests.failover.pair import make_box, wait_until_writing
from tests.failover.served import box_settings
from tests.servers.etcd import start_etcd_cluster
from tests.servers.waiting import wait_for

pytestmark = pytest.mark.slow

# The fence 3 s after the last renewal, the lease 6 s: a window where the stalled primary still
# holds the lease in etcd but is fenced (0.5 x 3 + 3 = 4.5 < 6).
SLOW = {"lease_ttl_seconds": 6, "fence_margin_seconds": 3.0}


def probe(settings, name: str):
    check = catalog()[name]
    return engine.evaluate(check, config_for(check, settings), settings, utcnow())


def eventually(settings, name: str, state: str, contains: str = "", timeout: float = 15):
    found = []

    def matches():
        found.append(probe(settings, name))
        return found[-1].state == state and contains in found[-1].reason
    wait_for(matches, timeout=timeout, what=f"{name} {state} ({contains}); last: {found[-1] if found else None}")
    return found[-1]


def test_the_checks_follow_the_pair(tmp_path):
    cluster = start_etcd_cluster(tmp_path / "etcd")
    a = make_box(tmp_path, "box-a", cluster.endpoints, "primary", "/checks/", **SLOW)
    b = make_box(tmp_path, "box-b", cluster.endpoints, "standby", "/checks/", **SLOW)
    try:
        a.start(), b.start()
        held = wait_until_writing(a)
        on_a, on_b = box_settings(a), box_settings(b)
        for name in ("failover_lease", "failover_members", "failover_fenced"):
            assert catalog()[name].runbook and config_for(catalog()[name], on_a).enabled

        lease = eventually(on_a, "failover_lease", "ok")
        assert f"this box holds the lease (epoch {held.epoch})" in lease.reason and 1 <= lease.value <= 6
        assert probe(on_a, "failover_members").value == 3
        assert probe(on_a, "failover_fenced").reason.startswith("primary, writing")
        standby = eventually(on_b, "failover_lease", "ok", "box-a holds the lease")
        assert standby.value >= 1
        fenced = probe(on_b, "failover_fenced")
        assert (fenced.state, fenced.value) == ("ok", 1) and "standby" in fenced.reason

        b.stop()                     # nobody to take over
        a.pause()                    # the primary's lease holder stalls: fenced at +3 s, the lease lives to +6 s
        fenced = eventually(on_a, "failover_fenced", "crit", "is the primary", timeout=6)
        assert f"epoch {held.epoch}" in fenced.reason
        lease = probe(on_a, "failover_lease")
        assert lease.state == "crit" and "holds the lease" in lease.reason and "fenced" in lease.reason
        nobody = eventually(on_a, "failover_lease", "crit", "nobody holds the lease", timeout=12)
        assert nobody.value == 0
        still = probe(on_a, "failover_fenced")
        assert still.state == "crit" and "was the primary" in still.reason
        a.resume()
        eventually(on_a, "failover_fenced", "ok", "primary, writing", timeout=10)

        cluster.members[2].kill()
        one_down = eventually(on_a, "failover_members", "warn")
        assert one_down.value == 2 and cluster.members[2].client_url in one_down.reason
        cluster.members[1].kill()
        lost = eventually(on_a, "failover_members", "crit", "quorum is lost")
        assert lost.value in (0, 1)
    finally:
        a.stop(), b.stop()
        cluster.stop()
