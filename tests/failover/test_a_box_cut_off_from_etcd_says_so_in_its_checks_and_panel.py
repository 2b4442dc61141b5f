"""A box of a pair that reaches no etcd member (its members are closed ports on 127.0.0.1): the
members check is crit (0 of 3), the lease check is crit on the intended primary and unknown on the
standby (it cannot tell), the fenced check does not call a standby that never held the lease a
fenced primary, and the /ops panel says the box cannot reach the quorum rather than "nobody holds
the lease"; all of it at once, not after timeouts."""
from __future__ import annotations

import time

from appliance import config
from appliance.models import utcnow
from failover.panel import pair_panel
from monitors import engine
from monitors.checks import catalog, config_for
from tests.conftest import make_home
from tests.failover.pair import failover_toml
from tests.servers.ports import free_port


def probe(settings, name: str):
    check = catalog()[name]
    return engine.evaluate(check, config_for(check, settings), settings, utcnow())


def cut_off(home, role: str, prefix: str):
    endpoints = [f"http://127.0.0.1:{free_port()}" for _ in range(3)]
    with open(home / "appliance.toml", "a") as f:
        f.write(failover_toml("box-a", endpoints, role, prefix))
    return config.load(home, environ={"APPLIANCE_DATABASE_URL": "sqlite:///appliance.db"})


def test_the_intended_primary_cut_off(home):
    settings = cut_off(home, "primary", "/cut-primary/")
    started = time.monotonic()
    members = probe(settings, "failover_members")
    assert (members.state, members.value) == ("crit", 0) and "quorum is lost" in members.reason
    lease = probe(settings, "failover_lease")
    assert lease.state == "crit" and "should hold the lease but cannot read it" in lease.reason
    assert "no etcd member answered" in lease.reason
    panel = pair_panel(settings)
    assert panel.status == "crit" and panel.summary.startswith("This box cannot reach the etcd quorum")
    assert ("etcd members", "0 of 3 reachable") in panel.rows
    assert time.monotonic() - started < 10


def test_a_standby_cut_off(tmp_path):
    settings = cut_off(make_home(tmp_path / "standby"), "standby", "/cut-standby/")
    lease = probe(settings, "failover_lease")
    assert lease.state == "unknown" and "the lease cannot be read" in lease.reason
    fenced = probe(settings, "failover_fenced")
    assert fenced.state == "ok" and "standby" in fenced.reason
