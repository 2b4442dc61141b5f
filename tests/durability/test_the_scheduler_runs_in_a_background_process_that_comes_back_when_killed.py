"""`appliance serve` runs the box's scheduler (jobs, monitors, replica shipper) in a background process
of its own (cli/background.py), not in a web worker: no request thread shares its GIL, and its
memory is bounded by a small number of malloc arenas. Killed with -9, it is started again and the
new one takes the scheduler over; the web workers keep taking orders meanwhile and are not
restarted."""
from __future__ import annotations

import os
import signal

import psutil
import pytest

from tests.servers.waiting import wait_for

from .served import seed_products

pytestmark = pytest.mark.slow


def test_the_scheduler_runs_beside_the_workers_and_comes_back_when_killed(served):
    box = served()
    token = box.token("manager")
    box.start(workers=1)
    client = box.client(token)
    seed_products(client, {"TEA": 10})

    background = wait_for(box.background_pid, 15, "the background process")
    workers = box.worker_pids()
    assert background not in workers + [box.pid, box.writer_pid()]
    assert wait_for(box.scheduler_holders, 15, "the scheduler lock") == [background]
    assert psutil.Process(background).environ().get("MALLOC_ARENA_MAX") == "2"
    assert psutil.Process(background).environ().get("MALLOC_MMAP_THRESHOLD_") == str(256 * 1024)
    assert psutil.Process(workers[0]).environ().get("MALLOC_ARENA_MAX") is None  # the workers' are theirs
    first_beat = wait_for(box.scheduler_heartbeat, 15, "the scheduler heartbeat")

    os.kill(background, signal.SIGKILL)
    status, _, _ = client.post("/orders", {"channel": "api", "lines": [{"sku": "TEA", "qty": 1}]},
                               headers={"Idempotency-Key": "while-it-is-away"})
    assert status == 201

    again = wait_for(lambda: (pid := box.background_pid()) not in (None, background) and pid, 30,
                     "a new background process")
    assert wait_for(lambda: box.scheduler_holders() == [again], 30, "the new one to hold the scheduler lock")
    # It schedules again: the heartbeat job runs as soon as its scheduler starts.
    assert wait_for(lambda: (beat := box.scheduler_heartbeat()) != first_beat and beat, 30, "a new heartbeat")
    assert box.worker_pids() == workers
