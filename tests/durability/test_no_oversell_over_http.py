"""Concurrent HTTP clients ordering the last units from a real `appliance serve` with two workers.

16 clients (keep-alive connections) send 40 single-unit orders for 10 units: exactly 10 get 201,
the others 409 naming the SKU, nothing else; the box's database then agrees with the ledger.
"""
from __future__ import annotations

import threading

import pytest

from .conftest import url_for
from .served import seed_products
from .stock_checks import assert_no_oversell, box_database

pytestmark = pytest.mark.slow
CLIENTS = 16


def test_sixteen_clients_ordering_ten_units_get_exactly_ten_201s(served, engine, request):
    box = served(url_for(engine, request))
    token = box.token("manager")
    box.start(workers=2)
    seed_products(box.client(token), {"LAST": 10})

    results: list[dict] = []
    statuses: list[int] = []
    lock = threading.Lock()
    attempts = iter(range(40))
    start = threading.Barrier(CLIENTS)

    def client() -> None:
        http = box.client(token)
        start.wait()
        try:
            while True:
                with lock:
                    if next(attempts, None) is None:
                        return
                status, body, _ = http.post("/orders", {"channel": "api", "lines": [{"sku": "LAST", "qty": 1}]})
                with lock:
                    statuses.append(status)
                    if status == 201:
                        results.append({"lines": [["LAST", 1]], "number": body["number"], "error": None})
                    elif status == 409 and [d.get("sku") for d in body["details"]] == ["LAST"]:
                        results.append({"lines": [["LAST", 1]], "number": None, "error": "InsufficientStock"})
                    else:
                        results.append({"lines": [["LAST", 1]], "number": None, "error": f"{status}: {body}"})
        finally:
            http.close()

    threads = [threading.Thread(target=client) for _ in range(CLIENTS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert sorted(statuses) == [201] * 10 + [409] * 30, statuses
    status, stock, _ = box.client(token).get("/stock/LAST")
    assert (stock["on_hand"], stock["reserved"], stock["available"]) == (10, 10, 0)
    with box_database(box.home):
        assert_no_oversell(results, {"LAST": 10})
