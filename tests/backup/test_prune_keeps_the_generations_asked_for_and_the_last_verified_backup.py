"""Retention keeps the last N plus daily/weekly/monthly generations, and never the last verified."""
from __future__ import annotations

from datetime import datetime, timedelta

from backup.settings import RetentionSettings
from backup.manifest import new_backup_id
from backup.models import BackupCopy
from backup.retention import keep_set, prune
from backup.run import run_backup
from backup.targets import backups_on, open_targets
from backup.verify import verify

from .helpers import local_target


def _hourly(days: int) -> list[str]:
    start = datetime(2026, 1, 1)
    return [new_backup_id(start + timedelta(hours=h)) for h in range(24 * days)]


def test_keep_last_plus_one_per_day_week_and_month():
    ids = _hourly(70)  # 1 Jan .. 11 Mar 2026, hourly
    keep = keep_set(ids, RetentionSettings(keep_last=3, keep_daily=2, keep_weekly=2, keep_monthly=3))
    newest = sorted(ids, reverse=True)
    days = {b[:8] for b in keep}
    assert set(newest[:3]) <= keep
    assert {"20260311", "20260310"} <= days          # 2 daily
    assert "20260308" in days                          # newest of the previous ISO week (a Sunday)
    assert {"20260228", "20260131"} <= days            # newest of each earlier month
    assert len(keep) == 3 + 1 + 1 + 2                  # overlapping generations counted once


def test_prune_never_deletes_the_last_verified_backup(shop, configure, tmp_path):
    only_one = {"keep_last": 1, "keep_daily": 0, "keep_weekly": 0, "keep_monthly": 0}
    settings = configure(local_target("disk", tmp_path / "disk", retention=only_one))
    verified = run_backup(settings, show_progress=False).backup_id
    assert all(o.ok for o in verify(settings, show_progress=False))
    newer = run_backup(settings, show_progress=False).backup_id
    newest = run_backup(settings, show_progress=False).backup_id

    report = prune(settings)

    assert report.deleted == [("disk", newer)]
    assert backups_on(open_targets(settings)[0].list())[0] == [verified, newest]
    assert BackupCopy.get(BackupCopy.backup == 2).state == "deleted"


def test_prune_removes_leftovers_of_an_interrupted_upload(shop, configure, tmp_path):
    settings = configure(local_target("disk", tmp_path / "disk"))
    kept = run_backup(settings, show_progress=False).backup_id
    leftover = tmp_path / "disk" / new_backup_id()
    leftover.mkdir()
    (leftover / "payload.zst.aes").write_bytes(b"half")

    report = prune(settings)

    assert report.deleted == [("disk", leftover.name)] and not leftover.exists()
    assert backups_on(open_targets(settings)[0].list()) == ([kept], [])
