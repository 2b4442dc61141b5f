"""A planned switchover (`failover promote --planned` on the standby): the primary stops writing,
its replication stops (Litestream syncing, the shipper shipping the last transactions), and only then
does it give the lease back; the standby applies everything when it takes over. No order the primary
acknowledged is missing on the new primary, and orders are refused only for a few seconds."""
from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
import sys
import threading
import time

import pytest

from appliance import config
from backup.jobs import ReplicatingWhileWriting
from failover import control

from tests.backup.conftest import make_shop
from tests.backup.helpers import sftp_target, write_targets
from tests.backup.replication_helpers import add_orders, caught_up, replication_options
from tests.failover.pair import ROOT, Box, failover_toml, wait_until_writing
from tests.servers.etcd import start_etcd_cluster
from tests.servers.sshd import sshd_server  # noqa: F401
from tests.servers.waiting import wait_for

pytestmark = pytest.mark.slow


def test_every_order_the_old_primary_acknowledged_is_on_the_new_one(settings, db, home, sshd_server, tmp_path):
    cluster = start_etcd_cluster(tmp_path / "etcd")
    write_targets(home, [sftp_target("nas", sshd_server, "planned")], replication_options("nas"))
    shared = (home / config.CONFIG_FILE).read_text()
    b_home = tmp_path / "box-b"
    b_home.mkdir()
    shutil.copytree(home / "keys", b_home / "keys")
    (b_home / config.CONFIG_FILE).write_text(shared + failover_toml("box-b", cluster.endpoints, "standby", "/planned/"))
    with open(home / config.CONFIG_FILE, "a") as f:
        f.write(failover_toml("box-a", cluster.endpoints, "primary", "/planned/"))
    a, b = Box("box-a", home), Box("box-b", b_home)
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
        env = {**os.environ, "APPLIANCE_HOME": str(b_home), "PYTHONPATH": str(ROOT)}
        follower = subprocess.Popen([sys.executable, "-m", "cli", "failover", "follow"], env=env, cwd=ROOT,
                                    stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
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
    finally:
        scheduler_stops.set()
        replicating.stop()
        if follower is not None and follower.poll() is None:
            follower.kill()
        a.stop(), b.stop()
        cluster.stop()
