"""The Litestream replica is sealed with the backup key before it leaves the box: the SFTP server
holds no plaintext (while Litestream's own output on the box does), every file opens with the key
into exactly what Litestream wrote, and a restore with another key or a damaged file is refused
with a clear error and changes nothing. Files that left the outbox leave the replica."""
from __future__ import annotations

import shutil

from appliance import orders
from backup import keys, replication, sealed_replica
from backup.crypto import MAGIC

from tests.servers.waiting import wait_for

from .helpers import sftp_target
from .replication_helpers import caught_up, damage_a_file_the_restore_reads, replication_options

CANARY = "CANARY-7f3a-customer-note-that-must-not-leak"


def _replicated_shop(shop, configure, sshd_server, folder):
    settings = configure(sftp_target("nas", sshd_server, folder), **replication_options("nas"))
    supervisor = replication.Supervisor(settings).start()
    try:
        wait_for(lambda: caught_up(settings), what="the first sync")
        for i in range(3):
            orders.create_order(settings, channel="store", actor="till", note=f"{CANARY} {i}",
                                lines=[orders.LineRequest("SKU-1", 1)])
        wait_for(lambda: caught_up(settings), what="the replica to catch up")
    finally:
        supervisor.stop()
    return settings, sshd_server.root / f"{folder}-litestream"


def test_the_replica_server_holds_only_sealed_files_that_open_into_litestreams_output(
        shop, configure, sshd_server):
    settings, remote = _replicated_shop(shop, configure, sshd_server, "sealed")
    outbox = replication.outbox_dir(settings)
    local = sealed_replica.outbox_files(outbox)
    remote_files = sorted(p for p in remote.rglob("*.ltx.aes") if p.is_file())

    # The control: Litestream's own files carry the note in the clear.
    assert any(CANARY.encode() in f.path.read_bytes() for f in local.values())
    assert remote_files
    assert not any(CANARY.encode() in p.read_bytes() for p in remote_files)
    assert all(p.read_bytes().startswith(MAGIC) for p in remote_files)
    assert {str(p.relative_to(remote)) for p in remote_files} == set(local)

    key = keys.load(settings.path(settings.backup.key_file))
    for p in remote_files:
        opened = p.with_name(p.name + ".opened")
        sealed_replica.unseal(p, opened, key.encryption, str(p), str(p.relative_to(remote)))
        assert opened.read_bytes() == local[str(p.relative_to(remote))].path.read_bytes()
        opened.unlink()


def test_a_restore_with_another_backup_key_is_refused_and_changes_nothing(
        shop, configure, sshd_server, home, tmp_path, cli):
    settings, _ = _replicated_shop(shop, configure, sshd_server, "otherkey")
    key_file = settings.path(settings.backup.key_file)
    key_file.write_text(keys.export_text(keys.from_master(b"\x07" * 32)))
    out = tmp_path / "restored.db"
    out.write_bytes(b"the file that was here")

    result = cli("restore", "--from-replica", "--output", str(out), "--force")

    assert result.exit_code == 1
    assert "another backup key" in result.output and "Nothing was changed" in result.output
    assert out.read_bytes() == b"the file that was here"


def test_a_damaged_replica_file_is_refused_and_changes_nothing(shop, configure, sshd_server, tmp_path, cli):
    settings, remote = _replicated_shop(shop, configure, sshd_server, "damaged")
    damage_a_file_the_restore_reads(remote)
    out = tmp_path / "restored.db"

    result = cli("restore", "--from-replica", "--output", str(out))

    assert result.exit_code == 1
    assert "fails decryption" in result.output
    assert not out.exists()


def test_files_litestream_removed_from_the_outbox_leave_the_replica(shop, configure, sshd_server):
    settings, remote = _replicated_shop(shop, configure, sshd_server, "pruned")
    shipper = _shipper(settings)
    level0 = sorted((replication.outbox_dir(settings) / "ltx" / "0").glob("*.ltx"))
    assert len(level0) >= 2
    gone = level0[-1]
    gone.unlink()  # as Litestream does once a compaction covers it or its retention ends
    stray = remote / "0" / "00000000000000f0-00000000000000f0.ltx.aes"  # from an earlier life of the box
    stray.write_bytes(b"old")
    try:
        assert shipper.ship_once() is True
    finally:
        shipper.close()

    names = {str(p.relative_to(remote)) for p in remote.rglob("*.ltx.aes")}
    assert f"0/{gone.stem}.ltx.aes" not in names
    assert not stray.exists()
    assert names == set(sealed_replica.outbox_files(replication.outbox_dir(settings)))


def test_an_outbox_without_a_snapshot_never_empties_the_replica(shop, configure, sshd_server):
    settings, remote = _replicated_shop(shop, configure, sshd_server, "emptybox")
    before = {str(p.relative_to(remote)) for p in remote.rglob("*.ltx.aes")}
    shutil.rmtree(replication.outbox_dir(settings))  # a new, empty outbox (e.g. a replaced disk)
    shipper = _shipper(settings)
    try:
        assert shipper.ship_once() is False
    finally:
        shipper.close()

    assert {str(p.relative_to(remote)) for p in remote.rglob("*.ltx.aes")} == before


def _shipper(settings) -> sealed_replica.Shipper:
    key = keys.load(settings.path(settings.backup.key_file))
    return sealed_replica.Shipper(settings, replication.replica_target(settings), replication.replica_location(settings),
                                  replication.describe_replica(settings), replication.outbox_dir(settings),
                                  key.encryption)
