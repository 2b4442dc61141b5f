"""A local target on a full disk (a 1 MiB tmpfs): a clear error, no partial file left, the other
targets complete, and nothing incomplete lists as a backup."""
from __future__ import annotations

import os

import pytest

from backup.run import run_backup
from tests.servers.tmpfs import mounted_tmpfs
from backup.targets import backups_on, open_targets

from .helpers import add_incompressible_rows, local_target, sftp_target


@pytest.fixture
def tiny_disk(tmp_path):
    with mounted_tmpfs(tmp_path / "tiny", "1m") as mount:
        yield mount


def test_a_full_local_disk_gives_a_clear_error_and_the_other_target_completes(
        settings, db, configure, tmp_path, tiny_disk, sshd_server):
    add_incompressible_rows(2 * 1024 * 1024)
    settings = configure(local_target("usb", tiny_disk, medium="usb"), sftp_target("nas", sshd_server, "full-disk"))

    report = run_backup(settings, show_progress=False)

    assert report.stored == ["nas"]
    assert "No space left on device" in report.failed["usb"]
    assert os.listdir(tiny_disk / report.backup_id) == []  # the partial file was removed
    usb, nas = open_targets(settings)
    assert backups_on(usb.list()) == ([], [])
    assert backups_on(nas.list()) == ([report.backup_id], [])
