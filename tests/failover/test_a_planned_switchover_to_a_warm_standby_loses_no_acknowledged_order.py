"""A planned switchover (`failover promote --planned` on the standby): the primary stops writing,
its replication stops (Litestream syncing, the shipper shipping the last transactions), and only then
does it give the lease back; the standby's follower applies everything before it stops and the copy
becomes the database. No order the primary acknowledged is missing on the new primary, orders are
refused only for a few seconds, and the promotion records how long each phase took."""
from __future__ import annotations

import sqlite3
import threading
import time

import pytest

from appliance import config
from backup.jobs import ReplicatingWhileWriting
from failover import control

from tests.backup.conftest import make_shop
from tests.backup.helpers import sftp_target
from tests.backup.replication_helpers import add_orders, caught_up
from tests.failover.pair import start_follower, wait_until_writing, warm_pair
from tests.servers.etcd import start_etcd_cluster
from tests.servers.sshd import sshd_server  # noqa: F401
from tests.servers.waiting import wait_for

pytestmark = pytest.mark.slow


def test_every_order_the_old_primary_acknowledged_is_on_the_new_one(settings, db, home, sshd_server, tmp_path):
    cluster = start_etcd_cluster(tmp_path / "etcd")
    a, b = warm_pair(home, tmp_path, cluster.endpoints, sftp_target("nas", sshd_server, "planned"), "/planned/")
    b_home = b.home
    primary = config.load(home, environ={"APPLIANCE_DATABASE_URL": settings.database.url})
    replicating = ReplicatingWhileWriting(primary)
    scheduler_stops = threading.Event()

    def scheduler() -> None:  # what `appliance serve`'s scheduler does every 2 s
        while not scheduler_stops.wait(0.2):
            replicating.check()
    follower = None
    try:
        a.start()
        wait_until_writing(a)
        make_shop(primary, n_orders=1)
        replicating.check()
        wait_for(lambda: caught_up(primary), what="box A's replica")
        b.start()
        follower = start_follower(b)
        threading.Thread(target=scheduler, daemon=True).start()

        acknowledged, refused_at, stop_selling = [], [], threading.Event()

        def till() -> None:  # keeps selling on box A until it refuses
            n = 100
            while not stop_selling.is_set():
                try:
                    acknowledged.extend(add_orders(primary, 1, start=n))
                except Exception:  # noqa: BLE001 - box A refuses once it hands over
                    refused_at.append(time.monotonic())
                    return
                n += 1
                time.sleep(0.02)
        selling = threading.Thread(target=till, daemon=True)
        selling.start()
        time.sleep(1.0)

        said = control.promote(config.load(b_home), planned=True)
        stop_selling.set()
        selling.join(10)
        promoted = wait_until_writing(b, timeout=30)

        assert "box-b is the primary" in said and refused_at
        assert not a.writes() and promoted.epoch > 1
        conn = sqlite3.connect(b_home / "appliance.db")
        try:
            numbers = {row[0] for row in conn.execute("SELECT number FROM orders")}
        finally:
            conn.close()
        assert acknowledged and set(acknowledged) <= numbers
        assert time.monotonic() - refused_at[0] < 20  # refused from the hand-over to the new primary's grant
        # the breakdown: every phase, the old primary's part from its report; the running follower
        # applied the tail before it stopped (the promotion ran no Litestream of its own)
        promotion = control.last_promotion(b_home)
        assert list(promotion["phases"]) == [name for name, _ in control.PHASES], promotion
        assert promotion["timeline"]["by"] == "box-a" and promotion["timeline"]["shipped_confirmed"]
        assert "litestream_stopped_at" not in promotion["timeline"], promotion
        assert "Switchover: primary stops accepting" in said
    finally:
        scheduler_stops.set()
        replicating.stop()
        if follower is not None and follower.poll() is None:
            follower.kill()
        a.stop(), b.stop()
        cluster.stop()
