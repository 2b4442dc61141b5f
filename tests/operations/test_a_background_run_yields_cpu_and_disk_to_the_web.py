"""A background run (a scheduled or /ops-started operation, in its child process) runs at lower CPU
and I/O priority than the process that started it (the background process, beside the web workers
and the order writer): a higher nice value and the lowest best-effort I/O level, read from the live
child with psutil — from its first instruction, so its imports yield to orders too. The child runs in a
session of its own, and Linux's autogroup shares the CPU between sessions before nice counts: its
session's group gets the same nice value (/proc/PID/autogroup), or the run would get as much CPU as
the web workers and the order writer together."""
from __future__ import annotations

import os
import sys

import psutil

from appliance import operations
from appliance.models import OperationRun
from tests.servers.waiting import wait_for

from . import helpers  # noqa: F401 - registers tests.wait (in this process; the child imports it too)

# `appliance` as the box starts it, plus the test operations.
LAUNCHER = [sys.executable, "-c",
            "import tests.operations.helpers; from cli import main; main(prog_name='appliance')"]


def test_the_child_of_a_background_run_has_a_higher_nice_value_and_the_lowest_io_priority(settings, db,
                                                                                          monkeypatch):
    monkeypatch.setattr(operations, "launcher", LAUNCHER)
    mine = psutil.Process()
    queued = operations.start_in_background(settings, "tests.wait", {"seconds": 3},
                                            actor=operations.Actor("ana", "admin"), source="web")
    starting = wait_for(lambda: next((c for c in mine.children() if "run-queued" in c.cmdline()
                                      and c.cmdline()[0] == sys.executable), None), timeout=10,
                        what="Python to start the child's run")
    assert starting.nice() > mine.nice()  # still importing: it has not reached a line of ours yet

    running = wait_for(lambda: (r := OperationRun.get_by_id(queued.id)).outcome == "running" and r,
                       timeout=30, what="the child to begin the run")
    child = psutil.Process(running.pid)
    nice, io = child.nice(), child.ionice()

    assert running.pid != os.getpid()
    assert nice == min(19, mine.nice() + operations.BACKGROUND_NICE_INCREMENT) > mine.nice()
    assert (io.ioclass, io.value) == (psutil.IOPRIO_CLASS_BE, 7)
    if os.path.exists("/proc/self/autogroup"):  # a kernel with autogroups (CONFIG_SCHED_AUTOGROUP)
        with open(f"/proc/{running.pid}/autogroup") as group:
            assert group.read().split()[-2:] == ["nice", str(nice)]
    assert mine.ionice().ioclass in (psutil.IOPRIO_CLASS_NONE, psutil.IOPRIO_CLASS_BE)  # the starter keeps its own
    done = wait_for(lambda: (r := OperationRun.get_by_id(queued.id)).outcome not in ("queued", "running") and r,
                    timeout=30, what="the run to end")
    assert done.outcome == "ok", (done.summary, operations.log_tail(settings, queued.id))
