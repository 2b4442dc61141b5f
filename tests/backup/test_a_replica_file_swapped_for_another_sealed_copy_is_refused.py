"""A replica file replaced by another copy sealed with the right key under the same name (an older
shipment of it, say) opens fine, but its SHA-256 is not the one the replica's signed index lists: the
restore lists again (the shipper may have just shipped it again) and, when it stays so, refuses with
one sentence naming the file, changing nothing."""
from __future__ import annotations

from backup import keys, replication, sealed_replica

from tests.servers.waiting import wait_for

from .helpers import sftp_target
from .replication_helpers import add_orders, caught_up, replication_options


def test_a_resealed_replica_file_is_refused_by_name_and_nothing_is_changed(
        shop, configure, sshd_server, tmp_path, cli, monkeypatch):
    settings = configure(sftp_target("nas", sshd_server, "swapped"), **replication_options("nas"))
    supervisor = replication.Supervisor(settings).start()
    try:
        first = wait_for(lambda: caught_up(settings), what="the first sync")["local_txid"]
        add_orders(settings, 3)
        wait_for(lambda: (f := caught_up(settings)) and f["local_txid"] > first and f, what="the replica to catch up")
    finally:
        supervisor.stop()
    remote = sshd_server.root / "swapped-litestream"
    victim = max(remote.rglob("*.ltx.aes"), key=lambda p: p.stat().st_size)
    name = str(victim.relative_to(remote))
    key = keys.load(settings.path(settings.backup.key_file)).encryption
    plain = tmp_path / "plain.ltx"
    sealed_replica.unseal(victim, plain, key, name, name)
    sealed_replica.seal(plain, victim, key, name)  # the same content, sealed again: a valid, different file
    monkeypatch.setattr(sealed_replica, "FETCH_RETRY_SECONDS", 0.05)  # it lists again FETCH_ATTEMPTS times
    monkeypatch.setattr(sealed_replica, "FETCH_RETRY_MAX_SECONDS", 0.1)
    out = tmp_path / "restored.db"
    out.write_bytes(b"the file that was here")

    result = cli("restore", "--from-replica", "--output", str(out), "--force", "--quiet")

    assert result.exit_code == 1
    assert (f"(target nas) holds {name}, which is not the file its signed index lists: it was replaced or "
            "rolled back since it was shipped; nothing was changed.") in result.output
    assert "Traceback" not in result.output
    assert out.read_bytes() == b"the file that was here"
