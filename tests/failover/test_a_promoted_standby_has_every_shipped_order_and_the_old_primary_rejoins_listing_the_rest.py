"""Failover with a warm standby: box B follows box A's replica (`failover follow`); A's lease holder
dies; B takes the lease with a new epoch, and before it writes anything it applies what it received
and makes its copy its database (its permit says so meanwhile) — every order A acknowledged and
shipped is in B's database, and only the box that may write ships a replica. Then A comes back:
`failover rejoin` lists the orders it acknowledged that never reached B (for re-entry; B has since
reused their numbers, and the list says so), and sets A's database aside so it can follow B."""
from __future__ import annotations

import json
import os
import signal
import sqlite3

import pytest

from appliance import config, runtime
from appliance.models import Order
from backup.jobs import ReplicatingWhileWriting
from failover import standby
from failover.rejoin import rejoin

from tests.backup.conftest import make_shop
from tests.backup.helpers import sftp_target
from tests.backup.replication_helpers import add_orders, caught_up
from tests.failover.pair import start_follower, wait_until_writing, warm_pair
from tests.servers.etcd import start_etcd_cluster
from tests.servers.sshd import sshd_server  # noqa: F401
from tests.servers.waiting import wait_for

pytestmark = pytest.mark.slow


def test_the_promoted_standby_has_every_shipped_order_and_the_old_primary_lists_the_rest(settings, db, home, sshd_server, tmp_path):
    cluster = start_etcd_cluster(tmp_path / "etcd")
    a, b = warm_pair(home, tmp_path, cluster.endpoints, sftp_target("nas", sshd_server, "pair"), "/warm/")
    b_home = b.home
    primary = config.load(home, environ={"APPLIANCE_DATABASE_URL": settings.database.url})
    replicating = ReplicatingWhileWriting(primary)
    follower = b_replicating = None
    try:
        a.start()
        first = wait_until_writing(a)
        make_shop(primary, n_orders=2)
        replicating.check()  # box A may write: it ships its replica
        wait_for(lambda: caught_up(primary), what="box A's replica")
        b.start()
        follower = start_follower(b)
        acknowledged = add_orders(primary, 5)
        wait_for(lambda: caught_up(primary) and (f := standby.read_facts(config.load(b_home)))
                 and f["lag_seconds"] == 0.0 and f["applied_txid"] >= caught_up(primary)["local_txid"],
                 timeout=30, what=f"box B's copy to catch up ({(b_home / 'follow.log').read_text()[-500:]})")
        acknowledged += add_orders(primary, 3, start=5)  # shipped, perhaps not yet applied by B
        wait_for(lambda: caught_up(primary), what="box A to ship its last orders")
        assert not b.writes()
        replicating.stop()  # A's link to the replica breaks: what A acknowledges now stays on A
        unshipped = add_orders(primary, 2, start=8)

        os.kill(a.process.pid, signal.SIGKILL)  # box A's lease holder dies: its permit runs out
        wait_for(lambda: not a.writes(), timeout=10, what="box A to fence itself")
        replicating.check()
        assert replicating.supervisor is None  # a fenced box ships nothing more

        reasons = set()

        def b_writes() -> bool:
            permit = b.permit()
            if permit is not None and permit.refusal() is not None:
                reasons.add(permit.reason)
            return b.writes()
        wait_for(b_writes, timeout=30, step=0.02, what=f"box B to be promoted ({b.log()})")
        promoted = b.permit()
        assert promoted.epoch > first.epoch
        assert any("applying what it received" in r for r in reasons), reasons  # said while it applied
        conn = sqlite3.connect(b_home / "appliance.db")
        try:
            numbers = {row[0] for row in conn.execute("SELECT number FROM orders")}
        finally:
            conn.close()
        assert set(acknowledged) <= numbers
        assert follower.wait(15) is not None  # the promotion stopped the follower
        assert not standby.has_copy(config.load(b_home))
        assert not set(unshipped) & numbers

        b_settings = config.load(b_home)
        runtime.connect(b_settings)  # the shop goes on with box B
        taken_on_b = add_orders(b_settings, 2, start=20)
        assert set(taken_on_b) == set(unshipped)  # B numbers on from what it has: the same numbers
        assert {o.epoch for o in Order.select().where(Order.number.in_(taken_on_b))} == {promoted.epoch}
        b_replicating = ReplicatingWhileWriting(b_settings)
        b_replicating.check()
        wait_for(lambda: caught_up(b_settings), what="box B's replica")

        done = rejoin(primary, "box-b", promoted.epoch)  # box A is back, fenced; an admin rejoins it
        quarantined = {o["number"]: o for o in done["orders"]}
        assert set(quarantined) == set(unshipped)
        assert all(o["number_now_names_another_order"] and o["lines"] and o["lines"][0]["qty"] == 1
                   and o["epoch"] == first.epoch for o in quarantined.values())  # taken by A in its epoch
        assert json.loads((home / "quarantine" / done["listing"].rsplit("/", 1)[1]).read_text())["orders"]
        assert not (home / "appliance.db").exists() and list(home.glob("appliance.db.before-rejoin-*"))
    finally:
        if b_replicating is not None:
            b_replicating.stop()
        replicating.stop()
        if follower is not None and follower.poll() is None:
            follower.kill()
        a.stop(), b.stop()
        cluster.stop()
