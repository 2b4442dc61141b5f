"""SIGKILL in the middle of an upload: nothing lists or restores as complete, the next run catches up."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import pytest

from backup.errors import NothingToRestore
from backup.models import BackupCopy
from backup.restore import restore
from backup.run import run_backup
from backup.targets import backups_on, open_targets

from .helpers import add_incompressible_rows, local_target, sftp_target


def _kill_when(process: subprocess.Popen, condition, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            os.kill(process.pid, signal.SIGKILL)
            process.wait()
            return
        assert process.poll() is None, process.stderr.read().decode()
        time.sleep(0.005)
    raise AssertionError("the upload never started")


def test_a_backup_killed_during_its_sftp_upload_never_lists_and_is_caught_up(
        settings, db, configure, home, tmp_path, sshd_server):
    add_incompressible_rows(16 * 1024 * 1024)
    settings = configure(local_target("disk", tmp_path / "disk"), sftp_target("nas", sshd_server, "killed"))
    remote = sshd_server.root / "killed"
    child = subprocess.Popen(
        [sys.executable, "-c", "from appliance.cli import main; main()", "--home", str(home), "backup", "run", "--quiet"],
        env={**os.environ, "APPLIANCE_DATABASE_URL": settings.database.url},
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)

    _kill_when(child, lambda: any(remote.glob("*/.payload.zst.aes.partial")))

    nas = open_targets(settings, "nas")[0]
    complete, incomplete = backups_on(nas.list())
    assert complete == [] and len(incomplete) == 1
    killed = incomplete[0]
    assert BackupCopy.get(BackupCopy.target == "nas").state == "uploading"  # never "complete"
    with pytest.raises(NothingToRestore):
        restore(settings, target="nas", output=str(tmp_path / "x.db"), show_progress=False)

    report = run_backup(settings, show_progress=False)

    assert (killed, "nas") in report.caught_up and report.failed == {}
    assert backups_on(nas.list()) == (sorted([killed, report.backup_id]), [])
