"""A restored database is fsynced, and so is the rename that puts it in place (it must survive a power cut); the
scratch copy a verify restores is not: that flush bought nothing (the copy is deleted a moment later)
and made the order writer's WAL fsyncs wait behind it (issue 17: p99 when verify starts)."""
from __future__ import annotations

import os

import pytest

from backup.restore import restore
from backup.run import run_backup
from backup.verify import verify

from .helpers import local_target


@pytest.fixture
def fsynced(monkeypatch) -> list[str]:
    """The paths os.fsync is called on (observed, then really done)."""
    paths: list[str] = []
    real = os.fsync

    def observed(fd):
        paths.append(os.readlink(f"/proc/self/fd/{fd}") if isinstance(fd, int) else str(fd))
        return real(fd)

    monkeypatch.setattr(os, "fsync", observed)
    return paths


def test_a_restore_fsyncs_its_database_and_a_verify_fsyncs_no_scratch_copy(shop, configure, tmp_path, fsynced):
    settings = configure(local_target("disk", tmp_path / "disk"))
    run_backup(settings, show_progress=False)

    fsynced.clear()
    results = verify(settings)
    assert results and all(r.ok for r in results), results
    scratch = [p for p in fsynced if p.endswith("/snapshot")]
    assert scratch == []

    out = tmp_path / "restored" / "shop.db"
    restore(settings, target="disk", output=str(out), show_progress=False)
    # its bytes (built beside it, then renamed) and the folder that names it
    assert fsynced == [str(out.parent / ".shop.db.restoring"), str(out.parent)]
