"""After `restore --from-replica --force` onto the box's own database, replication resumes into the
same replica: the restored box's new orders reach it, and a second restore has every order (the
replaced history is set aside on the box and removed from the replica)."""
from __future__ import annotations

from appliance import runtime
from backup import replication, sealed_replica

from tests.servers.waiting import wait_for

from .helpers import sftp_target
from .replication_helpers import add_orders, caught_up, order_numbers, replication_options


def _replicate(settings, then):
    supervisor = replication.Supervisor(settings).start()
    try:
        first = wait_for(lambda: caught_up(settings), what="the first sync")["local_txid"]
        made = then()
        wait_for(lambda: (f := caught_up(settings)) and f["local_txid"] > first and f, what="the replica to catch up")
    finally:
        supervisor.stop()
    return made


def test_a_box_restored_from_its_replica_replicates_its_new_orders_into_the_same_replica(
        shop, configure, sshd_server, home, tmp_path, cli):
    settings = configure(sftp_target("nas", sshd_server, "again"), **replication_options("nas"))
    before = _replicate(settings, lambda: add_orders(settings, 5))
    runtime.close()
    assert cli("restore", "--from-replica", "--force").exit_code == 0
    assert list(home.glob("replica-outbox.before-restore-*"))

    after = _replicate(settings, lambda: add_orders(settings, 5, start=5))
    out = tmp_path / "second.db"
    result = cli("restore", "--from-replica", "--output", str(out))

    assert result.exit_code == 0, result.output
    assert set(before) | set(after) <= order_numbers(out)
    remote = sshd_server.root / "again-litestream"
    shipped = {str(p.relative_to(remote)) for p in remote.rglob("*.ltx.aes")}
    assert shipped == set(sealed_replica.outbox_files(replication.outbox_dir(settings)))  # no earlier life left
