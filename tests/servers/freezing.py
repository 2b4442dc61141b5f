"""`freeze(pid)`: SIGSTOP a process and return once every one of its threads has stopped.

kill() returns before the stop takes effect: the kernel wakes one thread to start the group stop,
and the others go on running until it has told them, which on a loaded machine can be many
milliseconds (CI saw a "frozen" order writer answer an order 11 ms later, and one complete a
handshake). A test that freezes something to watch what waits on it must wait for the freeze."""
from __future__ import annotations

import os
import signal

from tests.servers.waiting import wait_for


def freeze(pid: int, timeout: float = 10) -> None:
    os.kill(pid, signal.SIGSTOP)
    wait_for(lambda: all_stopped(pid), timeout=timeout, step=0.002, what=f"every thread of process {pid} to stop")


def all_stopped(pid: int) -> bool:
    """Every thread in state T (stopped) or gone: /proc/PID/task/TID/stat's third field."""
    try:
        threads = os.listdir(f"/proc/{pid}/task")
    except FileNotFoundError:
        return True  # no process left to run anything
    for tid in threads:
        try:
            with open(f"/proc/{pid}/task/{tid}/stat") as stat:
                state = stat.read().rpartition(")")[2].split()[0]
        except (FileNotFoundError, ProcessLookupError, IndexError):
            continue  # that thread has ended
        if state not in ("T", "t", "Z", "X"):
            return False
    return True
