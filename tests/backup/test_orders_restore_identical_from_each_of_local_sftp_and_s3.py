"""Orders written, backed up to local + SFTP + S3, restored elsewhere from each: identical data."""
from __future__ import annotations

from appliance import stats
from backup.restore import restore
from backup.run import run_backup
from backup.targets import backups_on, open_targets

from .helpers import local_target, order_rows, s3_target, sftp_target, sqlite_counts


def test_orders_come_back_identical_from_each_of_local_sftp_and_s3(shop, configure, home, tmp_path,
                                                                   sshd_server, s3_server):
    settings = configure(
        local_target("disk", tmp_path / "disk"),
        sftp_target("nas", sshd_server, "round-trip"),
        s3_target("offsite", s3_server, s3_server.new_bucket(), home),
    )
    before = stats.business_counts()
    live_rows = order_rows(home / "appliance.db")

    report = run_backup(settings, show_progress=False)

    assert report.failed == {} and sorted(report.stored) == ["disk", "nas", "offsite"]
    assert set(report.timings) == {"snapshot", "sealed", "disk", "nas", "offsite"}  # seconds per phase
    for target in open_targets(settings):
        assert backups_on(target.list()) == ([report.backup_id], [])
    for name in ("disk", "nas", "offsite"):
        out = tmp_path / f"restored-{name}.db"
        restored = restore(settings, target=name, output=str(out), show_progress=False)
        assert restored.backup_id == report.backup_id and restored.target == name
        assert sqlite_counts(out) == before
        assert order_rows(out) == live_rows


def test_a_large_payload_goes_to_s3_in_parts_and_restores(settings, db, configure, home, tmp_path, s3_server):
    from .helpers import add_incompressible_rows
    add_incompressible_rows(6 * 1024 * 1024)
    settings = configure(s3_target("offsite", s3_server, s3_server.new_bucket(), home, multipart_chunk_mb=5))
    report = run_backup(settings, show_progress=False)
    assert report.failed == {}
    key = f"shop1/{report.backup_id}/payload.zst.aes"
    head = s3_server.client().head_object(Bucket=open_targets(settings)[0].bucket, Key=key)
    assert head["ETag"].strip('"').endswith("-2")  # a multipart upload's ETag counts its parts
    out = tmp_path / "big.db"
    restore(settings, output=str(out), show_progress=False)
    assert sqlite_counts(out) == stats.business_counts()
