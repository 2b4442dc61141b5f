"""Many threads in one process ordering the last units: exactly as many confirmations as units.

Each thread has its own database connection (as each web worker thread does); runs on SQLite and
PostgreSQL. A watcher samples every stock level meanwhile: available never goes below zero.
"""
from __future__ import annotations

import random
import threading

from appliance import orders
from appliance.db import database
from appliance.errors import InsufficientStock

from .stock_checks import AvailabilityWatcher, assert_no_oversell, stock_product

THREADS = 16


def order_concurrently(settings, attempts: list[list[list]]) -> list[dict]:
    """Runs every attempt (a list of [sku, qty] lines) over THREADS threads released at once."""
    results: list[dict | None] = [None] * len(attempts)
    queue = list(enumerate(attempts))
    lock = threading.Lock()
    start = threading.Barrier(THREADS)

    def worker() -> None:
        try:
            start.wait()
            while True:
                with lock:
                    if not queue:
                        return
                    i, lines = queue.pop(0)
                try:
                    order, _ = orders.create_order(settings, channel="store", actor="thread",
                                                   lines=[orders.LineRequest(s, q) for s, q in lines])
                    results[i] = {"lines": lines, "number": order.number, "error": None}
                except InsufficientStock:
                    results[i] = {"lines": lines, "number": None, "error": "InsufficientStock"}
                except Exception as e:  # noqa: BLE001 - the assertion reports it
                    results[i] = {"lines": lines, "number": None, "error": f"{type(e).__name__}: {e}"}
        finally:
            database.close()

    threads = [threading.Thread(target=worker) for _ in range(THREADS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert not any(t.is_alive() for t in threads), "an ordering thread hung"
    return results


def test_forty_single_unit_orders_for_ten_units_confirm_exactly_ten(settings, db):
    stock_product("LAST", 10)
    with AvailabilityWatcher() as watcher:
        results = order_concurrently(settings, [[["LAST", 1]]] * 40)
    assert sum(1 for r in results if r["number"]) == 10
    assert_no_oversell(results, {"LAST": 10})
    assert watcher.invalid == [] and watcher.samples > 0 and watcher.minimum >= 0


def test_mixed_quantities_and_two_line_orders_never_oversell_either_product(settings, db):
    stock_product("A", 10)
    stock_product("B", 10)
    rng = random.Random(7)
    attempts = []
    for _ in range(40):
        lines = [["A", rng.randint(1, 3)], ["B", rng.randint(1, 3)]]
        rng.shuffle(lines)  # both line orders, so two orders may lock the levels in opposite order
        attempts.append(lines[: rng.randint(1, 2)])
    with AvailabilityWatcher() as watcher:
        results = order_concurrently(settings, attempts)
    assert_no_oversell(results, {"A": 10, "B": 10})
    assert watcher.invalid == [] and watcher.minimum >= 0
