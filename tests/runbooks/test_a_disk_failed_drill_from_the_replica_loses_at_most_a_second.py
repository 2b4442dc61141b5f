"""A `disk-failed` drill restores the sealed Litestream replica (on a real SFTP server) into a sandbox
while the shop keeps taking orders: the drill succeeds and its measured RPO — the live box's newest
committed change when the drill began, against the newest one in the restored copy — is at most a
second; the live box kept taking orders throughout."""
from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
from pathlib import Path

from appliance import config, inventory, orders
from appliance.db import database
from tests.backup.conftest import make_shop
from tests.backup.helpers import sftp_target, write_targets
from tests.backup.replication_helpers import caught_up, kill_pid, replication_options
from tests.servers.waiting import wait_for


def test_the_replica_drill_succeeds_with_rpo_under_a_second_while_orders_flow(home, settings, db, sshd_server):
    options = replication_options("nas")
    write_targets(home, [sftp_target("nas", sshd_server, f"disk-failed-{time.monotonic_ns()}")], options)
    live = config.load(home, environ={"APPLIANCE_DATABASE_URL": settings.database.url})
    make_shop(live, n_orders=5)
    for i in range(4):
        inventory.receive(f"SKU-{i}", 5000, "test")
    env = {**os.environ, "APPLIANCE_HOME": str(home)}
    appliance = str(Path(sys.executable).parent / "appliance")
    supervisor = subprocess.Popen([appliance, "replication", "run"], env=env, stdout=subprocess.DEVNULL,
                                  stderr=open(home / "logs" / "supervisor.log", "ab"))
    taken, errors, stop = [], [], threading.Event()

    def till() -> None:  # the shop keeps selling during the drill
        with database.connection_context():
            n = 0
            while not stop.is_set():
                try:
                    order, _ = orders.create_order(live, channel="store", actor="till",
                                                   lines=[orders.LineRequest(f"SKU-{n % 4}", 1)])
                    taken.append(order.number)
                except Exception as e:  # noqa: BLE001 - counted and asserted below
                    errors.append(repr(e))
                n += 1
                time.sleep(0.02)

    litestream = None
    seller = threading.Thread(target=till)
    try:
        litestream = wait_for(lambda: caught_up(live), timeout=30, what="the first sync")["litestream_pid"]
        seller.start()
        time.sleep(1)
        drill = subprocess.run([appliance, "drill", "run", "disk-failed", "--json"], env=env, capture_output=True,
                               text=True, timeout=180)
        during = len(taken)
        time.sleep(0.5)
    finally:
        stop.set()
        seller.join(10)
        kill_pid(supervisor.pid)
        kill_pid(litestream)
        supervisor.wait(10)

    assert drill.returncode == 0, drill.stdout[-2000:] + drill.stderr[-2000:]
    result = json.loads(drill.stdout)
    assert result["succeeded"] and result["run_status"] == "completed"
    assert result["rpo_seconds"] is not None and result["rpo_seconds"] <= 1.0
    assert result["rto_seconds"] < result["rto_budget_seconds"]
    assert errors == [] and len(taken) > during > 20  # orders flowed before, during and after the drill
