"""appliance/processes.py PidFile: a pid file says whether the process it recorded still runs. A pid
now used by another process, a dead process and a zombie do not count. Real processes."""
from __future__ import annotations

import os
import subprocess
import sys
import time

import psutil

from appliance.processes import PidFile, ProcessRecord


def test_a_running_process_counts_until_it_dies(tmp_path):
    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    pid_file = PidFile(tmp_path / "run" / "child.pid")
    try:
        pid_file.record(child.pid)
        assert pid_file.running() == child.pid
    finally:
        child.kill()
    _wait_until_zombie(child.pid)  # dead, not reaped yet
    assert pid_file.running() is None
    child.wait()
    assert pid_file.running() is None


def _wait_until_zombie(pid: int) -> None:
    deadline = time.monotonic() + 10
    while psutil.Process(pid).status() != psutil.STATUS_ZOMBIE:  # SIGKILL is delivered asynchronously
        assert time.monotonic() < deadline, "the child did not die"
        time.sleep(0.02)


def test_a_pid_reused_by_another_process_does_not_count(tmp_path):
    # This test's own process plays the stranger that got the recorded pid: same pid, another start time.
    mine = ProcessRecord.of(os.getpid())
    (tmp_path / "old.pid").write_text(f"{mine.pid} {mine.started - 3600}\n")
    assert PidFile(tmp_path / "old.pid").running() is None
    assert not ProcessRecord(mine.pid, mine.started - 3600).running()
    assert ProcessRecord(mine.pid, mine.started).running()


def test_a_missing_or_garbled_file_names_nothing(tmp_path):
    assert PidFile(tmp_path / "missing.pid").running() is None
    (tmp_path / "garbled.pid").write_text("12 not-a-time")
    assert PidFile(tmp_path / "garbled.pid").read() is None
    (tmp_path / "pid-only.pid").write_text(f"{os.getpid()}\n")  # no start time: cannot prove it is ours
    assert PidFile(tmp_path / "pid-only.pid").running() is None


def test_the_file_holds_the_pid_first_and_is_removed(tmp_path):
    pid_file = PidFile(tmp_path / "me.pid")
    pid_file.record()
    assert pid_file.path.read_text().split()[0] == str(os.getpid())
    assert pid_file.running() == os.getpid()
    pid_file.remove()
    pid_file.remove()  # twice is fine
    assert pid_file.running() is None
