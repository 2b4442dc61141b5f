"""A replica shipped by an appliance from before per-file keys and the signed index (files sealed in
format 1 under the backup key itself, no index.json) still restores every order, with a note that
its completeness cannot be checked; the upgraded shipper's first pass writes the index, and from then
on the same replica restores without a note."""
from __future__ import annotations

import json

from backup import crypto, keys, replication, sealed_replica

from tests.servers.waiting import wait_for

from .helpers import sftp_target
from .replication_helpers import add_orders, caught_up, order_numbers, replication_options


def _as_format_1(remote, key: bytes) -> int:
    """Every sealed replica file rewritten as the format 1 shipper sealed it (no name bound in)."""
    files = list(remote.rglob("*.ltx.aes"))
    for p in files:
        plain = p.with_name(p.name + ".plain")
        sealed_replica.unseal(p, plain, key, str(p), str(p.relative_to(remote)))
        with open(plain, "rb") as src, open(p, "wb") as out:
            writer = crypto.EncryptingWriter(out, key, sealed_replica.CHUNK, _format=1)
            writer.write(src.read())
            writer.close()
        plain.unlink()
        assert crypto.format_of(p.read_bytes()) == 1
    return len(files)


def test_an_old_format_replica_without_an_index_restores_every_order_with_a_note(
        shop, configure, sshd_server, tmp_path, cli):
    settings = configure(sftp_target("nas", sshd_server, "oldreplica"), **replication_options("nas"))
    supervisor = replication.Supervisor(settings).start()
    try:
        first = wait_for(lambda: caught_up(settings), what="the first sync")["local_txid"]
        acknowledged = add_orders(settings, 4)
        wait_for(lambda: (f := caught_up(settings)) and f["local_txid"] > first and f, what="the replica to catch up")
    finally:
        supervisor.stop()
    remote = sshd_server.root / "oldreplica-litestream"
    key = keys.load(settings.path(settings.backup.key_file))
    assert _as_format_1(remote, key.encryption) >= 2
    (remote / sealed_replica.INDEX_KEY).unlink()
    journal = settings.path(sealed_replica.JOURNAL_FILE)
    shipped = json.loads(journal.read_text())
    journal.write_text(json.dumps({"replica": shipped["replica"], "files": shipped["files"]}))  # as it was
    out = tmp_path / "old.db"

    result = cli("restore", "--from-replica", "--output", str(out), "--quiet")

    assert result.exit_code == 0, result.output
    assert ("(target nas) has no signed index (it was shipped by an older appliance): whether its newest files "
            "are all there cannot be checked.") in result.output
    assert "warning:" not in result.output
    assert set(acknowledged) <= order_numbers(out)

    shipper = sealed_replica.Shipper(settings, replication.replica_target(settings),
                                     replication.replica_location(settings), replication.describe_replica(settings),
                                     replication.outbox_dir(settings), key.encryption)
    try:
        shipper.ship_once()  # the upgraded shipper: the old files stay, the index is written
    finally:
        shipper.close()
    index = json.loads((remote / sealed_replica.INDEX_KEY).read_text())
    assert set(index["files"]) == {str(p.relative_to(remote)) for p in remote.rglob("*.ltx.aes")}
    assert set(index["files"].values()) == {None}  # shipped before digests were kept: not checked
    assert all(crypto.format_of(p.read_bytes()) == 1 for p in remote.rglob("*.ltx.aes"))
    again = tmp_path / "again.db"

    result = cli("restore", "--from-replica", "--output", str(again), "--quiet")

    assert result.exit_code == 0, result.output
    assert "note:" not in result.output and "warning:" not in result.output
    assert set(acknowledged) <= order_numbers(again)
