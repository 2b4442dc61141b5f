"""appliance/processes.py: a supervisor killed with -9 cannot stop its child (it runs in a session of
its own); the next supervisor finds it by the pid file and stops it before starting its own. On stop,
a child gets SIGTERM and time to finish, and SIGKILL if it ignores SIGTERM. Real processes."""
from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import time

from appliance.processes import Backoff, ChildSupervisor, PidFile, ProcessRecord
from tests.servers.waiting import wait_for

SLEEPER = [sys.executable, "-c", "import time; time.sleep(120)"]



def test_a_child_left_behind_by_a_supervisor_killed_with_minus_9_is_stopped(tmp_path):
    pid_path = tmp_path / "child.pid"
    predecessor = subprocess.Popen([sys.executable, "-c", textwrap.dedent(f"""
        import time
        from appliance.processes import ChildSupervisor
        ChildSupervisor("sleeper", {SLEEPER!r}, pid_file={str(pid_path)!r}).start()
        time.sleep(120)
        """)], cwd=os.getcwd())
    try:
        orphan = wait_for(lambda: PidFile(pid_path).read(), what="the predecessor's child")
    finally:
        predecessor.kill()
        predecessor.wait()
    assert orphan.running()  # its supervisor is gone, the child is not

    successor = ChildSupervisor("sleeper", SLEEPER, pid_file=pid_path, stop_timeout=2).start()
    try:
        assert not orphan.running()
        assert successor.pid not in (None, orphan.pid)
        assert PidFile(pid_path).running() == successor.pid
    finally:
        successor.stop()


def test_a_pid_file_naming_another_process_is_not_acted_on(tmp_path):
    stranger = subprocess.Popen(SLEEPER)
    try:
        record = ProcessRecord.of(stranger.pid)
        (tmp_path / "child.pid").write_text(f"{record.pid} {record.started - 60}\n")  # the pid was reused
        child = ChildSupervisor("sleeper", SLEEPER, pid_file=tmp_path / "child.pid").start()
        child.stop()
        assert stranger.poll() is None  # left alone
    finally:
        stranger.kill()
        stranger.wait()


def test_a_stopped_child_gets_sigterm_and_time_to_finish(tmp_path):
    done = tmp_path / "done"
    graceful = [sys.executable, "-c", textwrap.dedent(f"""
        import pathlib, signal, sys, time
        def finish(*_):
            time.sleep(0.3)  # e.g. a last sync
            pathlib.Path({str(done)!r}).write_text("finished")
            sys.exit(0)
        signal.signal(signal.SIGTERM, finish)
        print("ready", flush=True)
        time.sleep(120)
        """)]
    child = ChildSupervisor("graceful", graceful, log_file=tmp_path / "graceful.log", stop_timeout=5).start()
    wait_for(lambda: "ready" in (tmp_path / "graceful.log").read_text(), what="the handler")
    child.stop()
    assert done.read_text() == "finished"
    assert child.last_exit is None  # a stop is not a death: nothing was restarted


def test_a_child_that_ignores_sigterm_is_killed_after_the_timeout(tmp_path):
    stubborn = [sys.executable, "-c", ("import signal, time; signal.signal(signal.SIGTERM, signal.SIG_IGN); "
                                       "print('ready', flush=True); time.sleep(120)")]
    child = ChildSupervisor("stubborn", stubborn, log_file=tmp_path / "stubborn.log", stop_timeout=0.5,
                            backoff=Backoff(first=0.1)).start()
    wait_for(lambda: "ready" in (tmp_path / "stubborn.log").read_text(), what="SIGTERM to be ignored")
    record = child.record
    started = time.monotonic()
    child.stop()
    assert 0.5 <= time.monotonic() - started < 5
    assert not record.running()
    assert child.restarts == 0
