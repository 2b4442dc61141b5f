"""Separate OS processes ordering the last units of a product against the same database.

Four processes with four threads each (their own connections) race for 10 units with 40
single-unit orders, and with mixed two-line orders; on a SQLite file and on PostgreSQL.
"""
from __future__ import annotations

import json
import random
import subprocess
import sys

from .served import REPO
from .stock_checks import AvailabilityWatcher, assert_no_oversell, stock_product

PROCESSES = 4
THREADS_EACH = 4


def order_from_processes(settings, database_url: str, attempts: list, tmp_path) -> list[dict]:
    go = tmp_path / "go"
    chunks = [attempts[i::PROCESSES] for i in range(PROCESSES)]
    procs = []
    try:
        for chunk in chunks:
            job = {"home": str(settings.home), "url": database_url, "threads": THREADS_EACH,
                   "go_file": str(go), "orders": chunk}
            procs.append(subprocess.Popen([sys.executable, "-m", "tests.durability.order_worker", json.dumps(job)],
                                          cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True))
        go.touch()  # every process is importing or waiting: they start ordering together
        results = []
        for proc in procs:
            out, err = proc.communicate(timeout=60)
            assert proc.returncode == 0, err[-2000:]
            results += json.loads(out.strip().splitlines()[-1])
        return results
    finally:
        for proc in procs:
            if proc.poll() is None:
                proc.kill()
                proc.wait()


def test_forty_single_unit_orders_from_four_processes_confirm_exactly_ten(settings, db, database_url, tmp_path):
    stock_product("LAST", 10)
    with AvailabilityWatcher() as watcher:
        results = order_from_processes(settings, database_url, [[["LAST", 1]]] * 40, tmp_path)
    assert len({r["number"] for r in results if r["number"]}) == sum(1 for r in results if r["number"]) == 10
    assert_no_oversell(results, {"LAST": 10})
    assert watcher.invalid == [] and watcher.minimum >= 0


def test_mixed_two_line_orders_from_four_processes_never_oversell(settings, db, database_url, tmp_path):
    stock_product("A", 12)
    stock_product("B", 12)
    rng = random.Random(11)
    attempts = [rng.sample([["A", rng.randint(1, 3)], ["B", rng.randint(1, 3)]], rng.randint(1, 2))
                for _ in range(40)]
    results = order_from_processes(settings, database_url, attempts, tmp_path)
    assert_no_oversell(results, {"A": 12, "B": 12})
