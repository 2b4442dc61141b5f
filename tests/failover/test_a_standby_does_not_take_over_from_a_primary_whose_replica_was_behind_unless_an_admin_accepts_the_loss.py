"""Issue 12, the bound on what a failover may lose (Patroni's maximum_lag_on_failover, for SQLite
pairs): at each renewal the primary's lease holder tells etcd how far its replica is behind. Box A's
link to the replica breaks and it goes on acknowledging orders for longer than box B's
`max_lag_on_failover_seconds`, then dies: B does not take over by itself (its permit says why and what
to do), since the orders A acknowledged meanwhile are in no copy B can apply. An admin runs `failover
promote --accept-loss` on B: B takes over with every order A shipped, and A's `failover rejoin` lists
the ones it did not. A replica that is current (the other failover tests) changes nothing."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

import pytest

from appliance import config
from appliance.models import utcnow
from backup.jobs import ReplicatingWhileWriting
from failover.holder import ACCEPT_LOSS_FILE
from failover.quorum import Quorum
from failover.rejoin import rejoin
from monitors import engine
from monitors.checks import catalog, config_for

from tests.backup.conftest import make_shop
from tests.backup.helpers import sftp_target
from tests.backup.replication_helpers import add_orders, caught_up, order_numbers
from tests.failover.pair import ROOT, TTL, start_follower, wait_until_writing, warm_pair
from tests.servers.etcd import start_etcd_cluster
from tests.servers.sshd import sshd_server  # noqa: F401
from tests.servers.waiting import wait_for

pytestmark = pytest.mark.slow

BOUND = 2.0  # box B's max_lag_on_failover_seconds


def published(quorum: Quorum) -> dict:
    raw = quorum.get("/lag/replica")[0]
    return json.loads(raw) if raw else {}


def test_the_standby_waits_for_an_admin_and_then_takes_over_with_what_was_shipped(settings, db, home, sshd_server, tmp_path):  # noqa: F811
    cluster = start_etcd_cluster(tmp_path / "etcd")
    a, b = warm_pair(home, tmp_path, cluster.endpoints, sftp_target("nas", sshd_server, "pair"), "/lag/")
    with open(b.home / "appliance.toml", "a") as f:  # [failover] is the file's last section
        f.write(f"max_lag_on_failover_seconds = {BOUND}\n")
    quorum = Quorum(cluster.endpoints, timeout=2)
    primary = config.load(home, environ={"APPLIANCE_DATABASE_URL": settings.database.url})
    replicating = ReplicatingWhileWriting(primary)
    follower = None
    try:
        a.start()
        first = wait_until_writing(a)
        make_shop(primary, n_orders=2)
        replicating.check()
        wait_for(lambda: caught_up(primary), what="box A's replica")
        b.start()
        follower = start_follower(b)
        shipped = add_orders(primary, 4)
        wait_for(lambda: caught_up(primary), what="box A to ship its orders")
        # a current replica: A says so at each renewal
        wait_for(lambda: published(quorum).get("lag_seconds", 99) < 1.5, timeout=10,
                 what=f"box A to publish a current replica ({published(quorum)})")
        assert published(quorum)["holder"] == "box-a" and published(quorum)["epoch"] == first.epoch

        replicating.stop()  # A's link to the replica breaks; it goes on acknowledging orders
        unshipped = add_orders(primary, 3, start=4)
        wait_for(lambda: published(quorum).get("lag_seconds", 0) > BOUND + 1, timeout=15,
                 what=f"box A to publish a replica behind by more than the bound ({published(quorum)})")

        os.kill(a.process.pid, signal.SIGKILL)  # then A dies
        wait_for(lambda: not a.writes(), timeout=10, what="box A to fence itself")
        replicating.check()
        wait_for(lambda: "--accept-loss" in (b.permit().reason if b.permit() else ""), timeout=TTL + 10,
                 what=f"box B to refuse to take over ({b.log()})")
        refusal = b.permit().reason
        assert "box-a's replica was" in refusal and "behind when it last renewed its lease" in refusal, refusal
        assert f"max_lag_on_failover_seconds ({BOUND:g} s)" in refusal and "failover rejoin" in refusal
        time.sleep(2 * TTL)  # long after A's lease expired: B still takes nothing by itself
        assert not b.writes() and quorum.get("/lag/leader")[0] is None
        check = catalog()["failover_lease"]  # the lease check says why nobody takes orders
        b_settings = config.load(b.home)
        lease = engine.evaluate(check, config_for(check, b_settings), b_settings, utcnow())
        assert lease.state == "crit" and "nobody holds the lease" in lease.reason, lease
        assert "--accept-loss" in lease.reason
        shown = json.loads(_appliance(b, "failover", "status", "--json").stdout)
        assert shown["primary_replica"]["holder"] == "box-a" and shown["primary_replica"]["lag_seconds"] > BOUND
        assert "no automatic failover" in _appliance(b, "failover", "status").stdout

        accepted = _appliance(b, "failover", "promote", "--accept-loss")
        assert accepted.returncode == 0, accepted.stderr
        promoted = b.permit()
        assert b.writes() and promoted.epoch > first.epoch, accepted.stdout
        assert not (b.home / ACCEPT_LOSS_FILE).exists()  # it was for that takeover only
        assert "although its replica was" in b.log() and "an admin accepted" in b.log()

        numbers = order_numbers(b.home / "appliance.db")
        assert set(shipped) <= numbers and not set(unshipped) & numbers
        done = rejoin(primary, "box-b", promoted.epoch)  # box A is back, fenced: it lists what B lacks
        assert {o["number"] for o in done["orders"]} == set(unshipped)
        assert b_settings.failover.max_lag_on_failover_seconds == BOUND
    finally:
        replicating.stop()
        if follower is not None and follower.poll() is None:
            follower.kill()
        a.stop(), b.stop()
        cluster.stop()



def _appliance(box, *args) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "cli", *args], cwd=ROOT, capture_output=True, text=True, timeout=60,
                          env={**os.environ, "APPLIANCE_HOME": str(box.home)})
