"""SIGKILL the server (master and workers) in the middle of a stream of order creations.

After a restart every order that got a 201 is there with its lines and its reservations, and when
the clients retry every request they ever sent (acknowledged or not) with the same Idempotency-Key,
no order is duplicated: one order per key, the stock reserved equals exactly the sum of those
orders' quantities, and the ledger agrees. Main case SQLite (WAL, synchronous=full); PostgreSQL too.
"""
from __future__ import annotations

import random
import signal
import threading
import time

import pytest

from appliance.models import IdempotencyKey, Order

from .conftest import url_for
from .served import seed_products
from .stock_checks import box_database, ledger_and_levels, ordered_quantities

pytestmark = pytest.mark.slow
CLIENTS = 6
SKUS = ("P1", "P2", "P3")
KILL_AFTER_ACKS = 30   # per round
ROUNDS = 3


def random_order(rng: random.Random) -> dict:
    skus = rng.sample(SKUS, rng.randint(1, 3))
    return {"channel": "api", "lines": [{"sku": s, "qty": rng.randint(1, 3)} for s in skus]}


def quantities(bodies) -> dict[str, int]:
    total = {s: 0 for s in SKUS}
    for body in bodies:
        for line in body["lines"]:
            total[line["sku"]] += line["qty"]
    return total


def test_every_201_survives_sigkill_and_retries_never_duplicate(served, engine, request):
    box = served(url_for(engine, request))
    token = box.token("manager")
    box.start(workers=2)
    seed_products(box.client(token), {s: 1_000_000 for s in SKUS})

    sent: dict[str, dict] = {}       # every key a client started to send, with its body
    acked: dict[str, str] = {}       # key -> order number, for every 201
    other: list = []
    lock = threading.Lock()

    def stream(round_no: int, n: int) -> None:
        http, rng = box.client(token, timeout=10), random.Random(round_no * 100 + n)
        for i in range(100_000):
            key, body = f"r{round_no}-c{n}-{i:05d}", random_order(rng)
            with lock:
                sent[key] = body
            try:
                status, reply, _ = http.post("/orders", body, headers={"Idempotency-Key": key})
            except OSError:
                return  # the server is gone; this key's fate is unknown to the client
            with lock:
                if status == 201:
                    acked[key] = reply["number"]
                else:
                    other.append((key, status, reply))

    # Several rounds: stream, SIGKILL at a random moment (a request may be committed but not yet
    # answered, or not yet committed), restart, stream again.
    rng = random.Random(5)
    for round_no in range(ROUNDS):
        if round_no:
            box.start(workers=2)
        target = len(acked) + KILL_AFTER_ACKS
        clients = [threading.Thread(target=stream, args=(round_no, n)) for n in range(CLIENTS)]
        for t in clients:
            t.start()
        deadline = time.monotonic() + 30
        while len(acked) < target and time.monotonic() < deadline and not other:
            time.sleep(0.002)
        time.sleep(rng.uniform(0, 0.02))
        box.kill(signal.SIGKILL)  # the whole process group, mid-stream
        for t in clients:
            t.join(20)
        assert not any(t.is_alive() for t in clients)
        assert other == []
        assert len(acked) >= target, box.log_tail()
        assert box.group_pids() == []
    acked_snapshot = dict(acked)

    box.start(workers=2)
    http = box.client(token)
    # 1. Every acknowledged order is there, confirmed, with its lines.
    for key, number in acked_snapshot.items():
        status, order, _ = http.get(f"/orders/{number}")
        assert status == 200, (key, number, status)
        assert order["status"] == "confirmed"
        assert sorted((l["sku"], l["qty"]) for l in order["lines"]) == \
            sorted((l["sku"], l["qty"]) for l in sent[key]["lines"])
    with box_database(box.home):
        in_db = Order.select().count()
        assert len(acked_snapshot) <= in_db <= len(sent)
        reserved = ordered_quantities()
        acked_qty = quantities(sent[k] for k in acked_snapshot)
        assert all(reserved.get(s, 0) >= acked_qty[s] for s in SKUS), (reserved, acked_qty)
        ledger_and_levels(reserved)

    http.close()
    # 2. Clients retry everything they ever sent, with the same keys and bodies.
    keys = sorted(sent)
    numbers: dict[str, str] = {}
    failures: list = []

    def retry(part: list[str]) -> None:
        c = box.client(token)
        for key in part:
            status, reply, headers = c.post("/orders", sent[key], headers={"Idempotency-Key": key})
            if status != 201:
                failures.append((key, status, reply))
                continue
            numbers[key] = reply["number"]
            if key in acked_snapshot and (reply["number"] != acked_snapshot[key]
                                          or headers.get("idempotent-replayed") != "true"):
                failures.append((key, "not the acknowledged order", reply["number"], acked_snapshot[key]))
        c.close()

    retriers = [threading.Thread(target=retry, args=(keys[i::CLIENTS],)) for i in range(CLIENTS)]
    for t in retriers:
        t.start()
    for t in retriers:
        t.join(60)
    assert failures == []
    assert len(set(numbers.values())) == len(keys)
    with box_database(box.home):
        assert Order.select().count() == len(keys) == IdempotencyKey.select().count()
        expected = quantities(sent.values())
        assert ordered_quantities() == expected
        ledger_and_levels(expected)
