"""Each web worker starts all its request threads and opens their database connections before it
serves, so its open files do not creep up over the first minutes of load as bursts reach one more
thread (which the soak could not tell from a leak), and no first request pays for a connection."""
from __future__ import annotations

import threading

import psutil
import pytest

from .served import seed_products

pytestmark = pytest.mark.slow
THREADS = 4


def database_files(pid: int, home) -> int:
    return sum(1 for f in psutil.Process(pid).open_files() if f.path == str(home / "appliance.db"))


def test_every_request_thread_is_connected_before_the_first_burst(served):
    box = served()
    token = box.token("manager")
    box.start(workers=1, threads=THREADS)
    [worker] = box.worker_pids()
    assert database_files(worker, box.home) == THREADS

    seed_products(box.client(token), {"TEA": 5})
    answers = []
    burst = [threading.Thread(target=lambda: answers.append(box.client(token).get("/products")[0]))
             for _ in range(3 * THREADS)]
    for t in burst:
        t.start()
    for t in burst:
        t.join(30)
    assert answers == [200] * 3 * THREADS
    assert database_files(worker, box.home) == THREADS
