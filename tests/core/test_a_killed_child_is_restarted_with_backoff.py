"""appliance/processes.py ChildSupervisor keeps a child running: a killed child is started again,
the pauses between restarts double up to a limit, and a child that stayed up long enough starts the
backoff over. Real child processes."""
from __future__ import annotations

import os
import signal
import sys
import threading
import time

from appliance.processes import Backoff, ChildSupervisor, ProcessRecord
from tests.servers.waiting import wait_for


def python(code: str) -> list[str]:
    return [sys.executable, "-c", code]



class Seen:
    """What the callbacks reported, thread-safe."""

    def __init__(self):
        self.lock = threading.Lock()
        self.starts: list[tuple[float, int]] = []
        self.exits = []

    def started(self, pid: int) -> None:
        with self.lock:
            self.starts.append((time.monotonic(), pid))

    def exited(self, exit) -> None:
        with self.lock:
            self.exits.append(exit)


def test_a_killed_child_is_started_again_and_reported(tmp_path):
    seen = Seen()
    child = ChildSupervisor("sleeper", python("import time; time.sleep(60)"), pid_file=tmp_path / "sleeper.pid",
                            backoff=Backoff(first=0.2, longest=1), on_start=seen.started, on_exit=seen.exited).start()
    try:
        first = child.pid
        assert first is not None and child.record.running()
        assert (tmp_path / "sleeper.pid").read_text().split()[0] == str(first)

        os.kill(first, signal.SIGKILL)
        second = wait_for(lambda: child.pid not in (None, first) and child.pid, what="a new child")
        assert not ProcessRecord.of(first) or not ProcessRecord.of(first).running()
        assert child.restarts == 1
        [exit] = seen.exits
        assert exit.code == -signal.SIGKILL and "exited with status" in exit.reason
        assert 0.19 < exit.restart_at - exit.at < 0.25
        assert [pid for _, pid in seen.starts] == [first, second]
        assert (tmp_path / "sleeper.pid").read_text().split()[0] == str(second)
    finally:
        child.stop()
    assert child.pid is None and not (tmp_path / "sleeper.pid").exists()


def test_the_pause_doubles_up_to_the_limit(tmp_path):
    seen = Seen()
    child = ChildSupervisor("crasher", python("raise SystemExit(3)"), backoff=Backoff(first=0.2, longest=0.8),
                            on_start=seen.started, on_exit=seen.exited).start()
    try:
        wait_for(lambda: len(seen.exits) >= 5, what="five exits")
    finally:
        child.stop()
    pauses = [round(e.restart_at - e.at, 2) for e in seen.exits[:5]]
    assert pauses == [0.2, 0.4, 0.8, 0.8, 0.8]
    assert all(e.code == 3 for e in seen.exits)
    gaps = [later - earlier for (earlier, _), (later, _) in zip(seen.starts, seen.starts[1:])]
    assert all(gap >= pause for gap, pause in zip(gaps, pauses))  # it really waited


def test_a_child_that_stayed_up_long_enough_starts_the_backoff_over(tmp_path):
    seen = Seen()
    child = ChildSupervisor("short-lived", python("import time; time.sleep(0.5); raise SystemExit(1)"),
                            backoff=Backoff(first=0.1, longest=5, stable=0.3), on_exit=seen.exited).start()
    try:
        wait_for(lambda: len(seen.exits) >= 3, what="three exits")
    finally:
        child.stop()
    assert [round(e.restart_at - e.at, 2) for e in seen.exits[:3]] == [0.1, 0.1, 0.1]


def test_a_child_that_cannot_be_started_is_tried_again(tmp_path):
    seen = Seen()
    missing = str(tmp_path / "no-such-program")
    child = ChildSupervisor("missing", [missing], backoff=Backoff(first=0.1, longest=0.2), on_exit=seen.exited).start()
    try:
        wait_for(lambda: len(seen.exits) >= 2, what="two failed starts")
    finally:
        child.stop()
    assert child.restarts == 0  # never started, so never restarted
    assert all(e.code is None and missing in e.reason for e in seen.exits)


def test_the_child_writes_its_log_and_the_exit_carries_that_runs_output(tmp_path):
    seen = Seen()
    log_file = tmp_path / "logs" / "child.log"
    child = ChildSupervisor("talker", python("import sys; print('hello'); print('Error: broken', file=sys.stderr); "
                                             "raise SystemExit(2)"),
                            log_file=log_file, backoff=Backoff(first=5), on_exit=seen.exited).start()
    try:
        wait_for(lambda: seen.exits, what="the exit")
    finally:
        child.stop()
    assert seen.exits[0].output.splitlines() == ["hello", "Error: broken"]
    assert "Error: broken" in log_file.read_text()
