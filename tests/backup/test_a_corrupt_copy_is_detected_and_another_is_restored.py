"""A byte flipped in a payload or a manifest on one target: verify finds it, restore uses another copy."""
from __future__ import annotations

from appliance import stats
from backup.models import BackupCopy
from backup.restore import restore
from backup.run import run_backup
from backup.verify import verify

from .helpers import flip_byte, local_target, sftp_target, sqlite_counts
from .replication_helpers import add_orders


def _two_copies(configure, tmp_path, sshd_server, folder):
    return configure(local_target("disk", tmp_path / "disk"), sftp_target("nas", sshd_server, folder))


def test_a_flipped_byte_in_a_payload_is_detected_by_verify_and_restore_uses_the_other_copy(
        shop, configure, tmp_path, sshd_server):
    settings = _two_copies(configure, tmp_path, sshd_server, "flip-payload")
    backup_id = run_backup(settings, show_progress=False).backup_id
    flip_byte(tmp_path / "disk" / backup_id / "payload.zst.aes")

    outcomes = {o.target: o for o in verify(settings, show_progress=False)}

    # Decoded as it downloads: the chunk's AES-GCM tag or the payload's SHA-256 catches it, whichever reads it first.
    assert not outcomes["disk"].ok and "damaged" in outcomes["disk"].detail
    assert outcomes["nas"].ok
    assert BackupCopy.get(BackupCopy.target == "disk").verify_state == "failed"
    out = tmp_path / "restored.db"
    report = restore(settings, output=str(out), show_progress=False)
    assert report.target == "nas"
    assert any("damaged" in s for s in report.skipped)
    assert sqlite_counts(out) == stats.business_counts()


def test_a_flipped_byte_in_a_manifest_is_detected_and_restore_uses_the_other_copy(
        shop, configure, tmp_path, sshd_server):
    settings = _two_copies(configure, tmp_path, sshd_server, "flip-manifest")
    backup_id = run_backup(settings, show_progress=False).backup_id
    manifest_file = tmp_path / "disk" / backup_id / "manifest.json"
    manifest_file.write_text(manifest_file.read_text().replace('"orders": 12', '"orders": 13'))

    outcomes = {o.target: o for o in verify(settings, show_progress=False)}

    assert not outcomes["disk"].ok and "HMAC" in outcomes["disk"].detail
    assert outcomes["nas"].ok
    report = restore(settings, output=str(tmp_path / "restored.db"), show_progress=False)
    assert report.target == "nas" and report.counts["orders"] == 12


def test_a_payload_damaged_on_the_sftp_server_is_found_too(shop, configure, tmp_path, sshd_server):
    settings = _two_copies(configure, tmp_path, sshd_server, "flip-remote")
    backup_id = run_backup(settings, show_progress=False).backup_id
    flip_byte(sshd_server.root / "flip-remote" / backup_id / "payload.zst.aes", offset=100)

    outcomes = {o.target: o.ok for o in verify(settings, show_progress=False)}

    assert outcomes == {"disk": True, "nas": False}


def test_a_payload_swapped_for_another_backups_is_refused_by_its_checksum_before_anything_is_replaced(
        shop, configure, tmp_path, sshd_server):
    """Every chunk of another backup's payload opens with the key: only the manifest's SHA-256, checked
    at the end of the streamed download, tells them apart, and it must before the rename."""
    import shutil
    settings = _two_copies(configure, tmp_path, sshd_server, "swap-payload")
    older = run_backup(settings, show_progress=False).backup_id
    add_orders(shop, 2)
    newer = run_backup(settings, show_progress=False).backup_id
    shutil.copy(tmp_path / "disk" / older / "payload.zst.aes", tmp_path / "disk" / newer / "payload.zst.aes")
    out = tmp_path / "restored.db"

    report = restore(settings, backup_id=newer, output=str(out), show_progress=False)

    assert report.target == "nas"
    assert any("SHA-256" in s or "manifest says" in s for s in report.skipped), report.skipped
    assert sqlite_counts(out) == stats.business_counts()
