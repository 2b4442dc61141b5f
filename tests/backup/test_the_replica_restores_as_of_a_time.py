"""`restore --from-replica --as-of TIME` brings back the database as it was at TIME: the orders
acknowledged before it, none after (the unsealed files keep their capture times); without --as-of,
all of them (what Litestream synced as the supervisor stopped was shipped too)."""
from __future__ import annotations

import time
from datetime import datetime, timezone

from backup import replication

from tests.servers.waiting import wait_for

from .helpers import sftp_target
from .replication_helpers import add_orders, caught_up, order_numbers, replication_options


def test_a_replica_restore_as_of_a_time_has_the_orders_before_it_and_none_after(
        shop, configure, sshd_server, tmp_path, cli):
    settings = configure(sftp_target("nas", sshd_server, "asof"), **replication_options("nas"))
    supervisor = replication.Supervisor(settings).start()
    try:
        first = wait_for(lambda: caught_up(settings), what="the first sync")["local_txid"]
        before = add_orders(settings, 5)
        wait_for(lambda: (f := caught_up(settings)) and f["local_txid"] > first and f,
                 what="the first orders to reach the replica")
        time.sleep(1.5)
        as_of = datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
        time.sleep(1.5)
        after = add_orders(settings, 5, start=5)
    finally:
        supervisor.stop()  # it ships what Litestream synced as it stopped
    out = tmp_path / "as-of.db"

    result = cli("restore", "--from-replica", "--as-of", as_of, "--output", str(out))

    assert result.exit_code == 0, result.output
    assert set(before) <= order_numbers(out)
    assert not set(after) & order_numbers(out)
    latest = tmp_path / "latest.db"
    assert cli("restore", "--from-replica", "--output", str(latest)).exit_code == 0
    assert set(before) | set(after) <= order_numbers(latest)  # the later orders were on the replica

