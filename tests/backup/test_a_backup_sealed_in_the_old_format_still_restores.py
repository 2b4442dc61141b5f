"""A backup made before per-file keys (its payload sealed in format 1, under the backup key itself)
and one made before independent zstd frames (format 2: one zstd stream, a key of its own by HKDF)
still restore, identical, next to one made today (format 3: a zstd frame per record)."""
from __future__ import annotations

import functools

from appliance import stats
from backup import archive, crypto
from backup.restore import restore
from backup.run import run_backup

from .helpers import local_target, order_rows, sqlite_counts


def _payload(folder, backup_id: str):
    return next(p for p in folder.rglob("payload*") if backup_id in str(p))


def test_format_1_2_and_3_backups_all_restore_identical(shop, configure, home, tmp_path, monkeypatch):
    settings = configure(local_target("disk", tmp_path / "disk"))
    before, live_rows = stats.business_counts(), order_rows(home / "appliance.db")
    with monkeypatch.context() as old_appliance:  # the format 1 and 2 writers, kept for exactly this
        old_appliance.setattr(archive, "PAYLOAD_FORMAT", 2)
        old_appliance.setattr(archive, "EncryptingWriter", functools.partial(crypto.EncryptingWriter, _format=1))
        old = run_backup(settings, show_progress=False)
    with monkeypatch.context() as older_appliance:
        older_appliance.setattr(archive, "PAYLOAD_FORMAT", 2)
        streamed = run_backup(settings, show_progress=False)
    new = run_backup(settings, show_progress=False)
    assert old.failed == {} and streamed.failed == {} and new.failed == {}
    assert crypto.format_of(_payload(tmp_path / "disk", old.backup_id).read_bytes()) == 1
    assert crypto.format_of(_payload(tmp_path / "disk", streamed.backup_id).read_bytes()) == 2
    assert crypto.format_of(_payload(tmp_path / "disk", new.backup_id).read_bytes()) == 3

    for report in (old, streamed, new):
        out = tmp_path / f"{report.backup_id}.db"
        restored = restore(settings, backup_id=report.backup_id, output=str(out), show_progress=False)
        assert restored.backup_id == report.backup_id
        assert sqlite_counts(out) == before
        assert order_rows(out) == live_rows
