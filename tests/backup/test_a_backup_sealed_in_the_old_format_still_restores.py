"""A backup made before per-file keys (its payload sealed in format 1, under the backup key itself)
still restores, identical, next to one made today (format 2, a key of its own by HKDF)."""
from __future__ import annotations

import functools

from appliance import stats
from backup import archive, crypto
from backup.restore import restore
from backup.run import run_backup

from .helpers import local_target, order_rows, sqlite_counts


def _payload(folder, backup_id: str):
    return next(p for p in folder.rglob("payload*") if backup_id in str(p))


def test_a_format_1_backup_and_a_format_2_backup_both_restore_identical(shop, configure, home, tmp_path, monkeypatch):
    settings = configure(local_target("disk", tmp_path / "disk"))
    before, live_rows = stats.business_counts(), order_rows(home / "appliance.db")
    with monkeypatch.context() as old_appliance:  # the format 1 writer, kept for exactly this
        old_appliance.setattr(archive, "EncryptingWriter", functools.partial(crypto.EncryptingWriter, _format=1))
        old = run_backup(settings, show_progress=False)
    new = run_backup(settings, show_progress=False)
    assert old.failed == {} and new.failed == {}
    assert crypto.format_of(_payload(tmp_path / "disk", old.backup_id).read_bytes()) == 1
    assert crypto.format_of(_payload(tmp_path / "disk", new.backup_id).read_bytes()) == 2

    for report in (old, new):
        out = tmp_path / f"{report.backup_id}.db"
        restored = restore(settings, backup_id=report.backup_id, output=str(out), show_progress=False)
        assert restored.backup_id == report.backup_id
        assert sqlite_counts(out) == before
        assert order_rows(out) == live_rows
