"""SIGKILL in the middle of an upload: nothing lists or restores as complete, the next run catches up.

Uploads read the payload while it is being made, so the SFTP server's session is frozen (SIGSTOP) as
soon as its partial file appears: the SFTP upload stalls mid-payload while the payload is finished
and the local copy completes (a stalled target never holds the others back), and the backup is then
killed at a known point: local copy complete, SFTP copy still uploading.
"""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import psutil
import pytest

from backup.errors import NothingToRestore
from backup.models import BackupCopy
from backup.restore import restore
from backup.run import run_backup
from backup.targets import backups_on, open_targets
from tests.servers.sshd import start_sshd

from .helpers import add_incompressible_rows, local_target, sftp_target


def _wait(condition, process: subprocess.Popen, what: str, timeout: float = 30):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = condition()
        if found:
            return found
        assert process.poll() is None, process.stderr.read().decode()
        time.sleep(0.005)
    raise AssertionError(f"timed out waiting for {what}")


def _sessions(sshd) -> list[psutil.Process]:
    """The server's per-connection processes (the listener keeps running)."""
    return psutil.Process(sshd.process.pid).children(recursive=True)


def _copy_state(target: str) -> str | None:
    row = BackupCopy.get_or_none(BackupCopy.target == target)
    return row.state if row else None


def test_a_backup_killed_during_its_sftp_upload_never_lists_and_is_caught_up(
        settings, db, configure, home, tmp_path):
    add_incompressible_rows(16 * 1024 * 1024)
    sshd = start_sshd(tmp_path / "sshd")
    frozen: list[psutil.Process] = []
    try:
        settings = configure(local_target("disk", tmp_path / "disk"), sftp_target("nas", sshd, "killed"))
        remote = sshd.root / "killed"
        child = subprocess.Popen(
            [sys.executable, "-c", "from cli import main; main()", "--home", str(home), "backup", "run",
             "--quiet"],
            env={**os.environ, "APPLIANCE_DATABASE_URL": settings.database.url},
            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)

        _wait(lambda: any(remote.glob("*/.payload.zst.aes.partial")), child, "the SFTP upload to start")
        for session in _sessions(sshd):
            session.send_signal(signal.SIGSTOP)
            frozen.append(session)
        killed = _wait(lambda: [p.parent.name for p in (tmp_path / "disk").glob("*/manifest.json")], child,
                       "the local copy to complete while the SFTP upload is stalled")[0]
        _wait(lambda: _copy_state("disk") == "complete" and _copy_state("nas") == "uploading", child,
              "the catalog to record both copies")
        os.kill(child.pid, signal.SIGKILL)
        child.wait()
        for session in frozen:
            session.send_signal(signal.SIGCONT)
        frozen.clear()

        nas = open_targets(settings, "nas")[0]
        complete, incomplete = backups_on(nas.list())
        assert complete == [] and incomplete == [killed]
        assert BackupCopy.get(BackupCopy.target == "nas").state == "uploading"  # never "complete"
        with pytest.raises(NothingToRestore):
            restore(settings, target="nas", output=str(tmp_path / "x.db"), show_progress=False)

        report = run_backup(settings, show_progress=False)

        assert (killed, "nas") in report.caught_up and report.failed == {}
        assert backups_on(nas.list()) == (sorted([killed, report.backup_id]), [])
    finally:
        for session in frozen:
            session.send_signal(signal.SIGCONT)
        sshd.stop()
