"""Measured RPO: orders are written continuously while `appliance replication run` streams the WAL to
a real SFTP server; the box dies abruptly (kill -9 of the supervisor and Litestream, database and
Litestream's state discarded); `appliance restore --from-replica` brings the database back on the
"new box"; the oldest acknowledged order that is missing was acknowledged within recovery.rpo_seconds
of the death, and nothing after a missing order came back (no holes)."""
from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

from appliance import config, inventory, orders, runtime
from backup import replication

from tests.servers.waiting import wait_for

from .helpers import sftp_target
from .replication_helpers import alive, caught_up, discard_database, kill_pid, order_numbers, replication_options

WRITE_SECONDS = 4


def test_orders_lost_when_the_box_dies_are_within_the_rpo(shop, configure, home, sshd_server, cli, capsys):
    toml = home / config.CONFIG_FILE
    toml.write_text(toml.read_text().replace("rpo_seconds = 60", "rpo_seconds = 5"))
    settings = configure(sftp_target("nas", sshd_server, "rpo"), **replication_options("nas"))
    assert settings.recovery.rpo_seconds == 5
    for i in range(4):
        inventory.receive(f"SKU-{i}", 5000, "test")
    env = {**os.environ, "APPLIANCE_HOME": str(home), "APPLIANCE_DATABASE_URL": settings.database.url}
    box = subprocess.Popen([str(Path(sys.executable).parent / "appliance"), "replication", "run"], env=env,
                           stdout=subprocess.DEVNULL, stderr=open(home / "logs" / "supervisor.log", "ab"))
    litestream_pid = None
    acknowledged: list[tuple[str, float]] = []
    try:
        litestream_pid = wait_for(lambda: caught_up(settings), timeout=20, what="the first sync")["litestream_pid"]
        deadline = time.monotonic() + WRITE_SECONDS
        n = 0
        while time.monotonic() < deadline:
            order, _ = orders.create_order(settings, channel="store", actor="till",
                                           lines=[orders.LineRequest(f"SKU-{n % 4}", 1)])
            acknowledged.append((order.number, time.time()))  # committed (synchronous=full) and returned
            n += 1
            time.sleep(0.005)
        # The box dies: no clean shutdown, no last sync.
        kill_pid(box.pid)
        kill_pid(litestream_pid)
        died_at = time.time()
    finally:
        kill_pid(box.pid)
        kill_pid(litestream_pid)
        box.wait(5)
    wait_for(lambda: not alive(litestream_pid), timeout=5, what="litestream to die")  # SIGKILL is asynchronous
    db_path = replication.database_path(settings)
    runtime.close()
    discard_database(settings)

    result = cli("restore", "--from-replica")  # onto the replacement box (same home, empty disk)

    assert result.exit_code == 0, result.output
    restored = order_numbers(db_path)
    numbers = [number for number, _ in acknowledged]
    kept = [number for number in numbers if number in restored]
    assert kept == numbers[:len(kept)], "an order after a missing one came back: the replica has a hole"
    missing = acknowledged[len(kept):]
    rpo = died_at - missing[0][1] if missing else 0.0
    with capsys.disabled():
        print(f"\nmeasured RPO: {rpo:.2f} s ({len(missing)} of {len(acknowledged)} acknowledged orders missing "
              f"after the box died; {len(acknowledged) / WRITE_SECONDS:.0f} orders/s; RPO target "
              f"{settings.recovery.rpo_seconds} s)")
    assert len(kept) > 0
    assert rpo <= settings.recovery.rpo_seconds
