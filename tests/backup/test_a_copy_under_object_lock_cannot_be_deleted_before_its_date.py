"""Copies under S3 Object Lock cannot be deleted before their date, by prune or by the S3 API."""
from __future__ import annotations

import pytest
from botocore.exceptions import ClientError

from backup.retention import prune
from backup.run import run_backup
from backup.targets import backups_on, open_targets

from .helpers import local_target, s3_target


def test_a_locked_copy_cannot_be_deleted_through_the_s3_api(shop, configure, home, s3_server):
    bucket = s3_server.new_bucket(object_lock=True)
    settings = configure(s3_target("offsite", s3_server, bucket, home, lock_days=1))
    backup_id = run_backup(settings, show_progress=False).backup_id
    client = s3_server.client()
    key = f"shop1/{backup_id}/payload.zst.aes"

    version = client.list_object_versions(Bucket=bucket, Prefix=key)["Versions"][0]["VersionId"]
    with pytest.raises(ClientError, match="AccessDenied"):
        client.delete_object(Bucket=bucket, Key=key, VersionId=version)
    with pytest.raises(ClientError, match="AccessDenied|InvalidRequest"):  # shortening is refused
        client.put_object_retention(Bucket=bucket, Key=key, VersionId=version,
                                    Retention={"Mode": "GOVERNANCE", "RetainUntilDate": "2020-01-01T00:00:00Z"})
    assert client.head_object(Bucket=bucket, Key=key, VersionId=version)["ContentLength"] > 0


def test_prune_keeps_locked_copies_and_deletes_unlocked_ones(shop, configure, home, tmp_path, s3_server):
    bucket = s3_server.new_bucket(object_lock=True)
    settings = configure(
        local_target("disk", tmp_path / "disk", retention={"keep_last": 1, "keep_daily": 0,
                                                           "keep_weekly": 0, "keep_monthly": 0}),
        s3_target("offsite", s3_server, bucket, home, lock_days=1,
                  retention={"keep_last": 1, "keep_daily": 0, "keep_weekly": 0, "keep_monthly": 0}),
    )
    first = run_backup(settings, show_progress=False).backup_id
    second = run_backup(settings, show_progress=False).backup_id

    report = prune(settings)

    assert ("disk", first) in report.deleted
    assert [(t, b) for t, b, _ in report.locked] == [("offsite", first)]
    disk, offsite = open_targets(settings)
    assert backups_on(disk.list())[0] == [second]
    assert backups_on(offsite.list())[0] == [first, second]
