"""`appliance serve` writes orders through one order-writer process (appliance/order_writer.py).

A request is answered only once the writer has committed its order: while the writer is frozen
(SIGSTOP) the request waits. If the writer dies with an order in hand, that request gets a 503
saying it may or may not be saved, and a retry with the same Idempotency-Key gives exactly one
order. The master starts a new writer, and meanwhile the web workers write orders themselves. A
thread that first connects to a frozen writer gives up the handshake in bounded time and writes the
order itself.
"""
from __future__ import annotations

import os
import signal
import threading
import time

import pytest

from appliance.models import IdempotencyKey

from tests.servers.freezing import freeze
from tests.servers.waiting import wait_for

from .served import seed_products
from .stock_checks import box_database, ledger_and_levels

pytestmark = pytest.mark.slow


def order(client, key: str, qty: int = 1):
    return client.post("/orders", {"channel": "api", "lines": [{"sku": "TEA", "qty": qty}]},
                       headers={"Idempotency-Key": key})


def one_thread_box(served, warm_up: bool = True, **env):
    """One worker with one thread: after one order, that thread's connection to the writer is open."""
    box = served(env={"APPLIANCE_SERVER_THREADS": "1", **env})
    token = box.token("manager")
    box.start(workers=1)
    # The writer that listens (its pid file is written once its socket accepts), not one that died
    # starting on a loaded machine and is being replaced: the warm-up must connect to it.
    wait_for(lambda: (pid := box.writer_pid()) and (box.home / "run" / "order-writer.pid").exists()
             and (box.home / "run" / "order-writer.pid").read_text().split()[0] == str(pid), 30,
             "the order writer to listen")
    seed_products(box.client(token), {"TEA": 100})
    if warm_up:
        status, _, _ = order(box.client(token), "warm-up")
        assert status == 201
    return box, token


def test_an_order_is_answered_only_after_the_writer_saved_it(served):
    box, token = one_thread_box(served)
    writer = box.writer_pid()
    assert writer is not None and writer not in box.worker_pids()

    answered: dict = {}
    freeze(writer)
    try:
        sender = threading.Thread(target=lambda: answered.update(result=order(box.client(token), "frozen-1")))
        sender.start()
        sender.join(1.5)
        # Waiting for the writer, not written by the worker.
        assert sender.is_alive() and not answered, (answered, writer, box.writer_pid(), box.log_tail())
    finally:
        os.kill(writer, signal.SIGCONT)
    sender.join(30)

    status, body, _ = answered["result"]
    assert status == 201 and body["status"] == "confirmed"
    assert box.writer_pid() == writer


def test_the_writer_dying_mid_order_gives_503_then_a_retry_makes_one_order_and_it_is_restarted(served):
    box, token = one_thread_box(served)
    writer = box.writer_pid()

    answered: dict = {}
    freeze(writer)
    sender = threading.Thread(target=lambda: answered.update(result=order(box.client(token), "dies-1", qty=2)))
    sender.start()
    time.sleep(1.0)  # the order is in the writer's hands
    os.kill(writer, signal.SIGKILL)
    sender.join(30)

    status, body, _ = answered["result"]
    assert status == 503, (status, body)
    assert "may or may not be saved" in body["error"] and "Idempotency-Key" in body["error"]

    client = box.client(token)
    status, body, _ = order(client, "dies-1", qty=2)  # the clerk's retry
    assert status == 201, (status, body)
    status, again, headers = order(client, "dies-1", qty=2)
    assert status == 201 and again["number"] == body["number"] and headers.get("idempotent-replayed") == "true"

    # Meanwhile (the writer starts again after a pause) the workers write orders themselves.
    for n in range(5):
        status, _, _ = order(client, f"meanwhile-{n}")
        assert status == 201
    new_writer = wait_for(lambda: (pid := box.writer_pid()) not in (None, writer) and pid, 30, "a new writer")
    status, _, _ = order(client, "after-restart")
    assert status == 201 and box.writer_pid() == new_writer

    with box_database(box.home):
        assert IdempotencyKey.select().where(IdempotencyKey.key.endswith(":dies-1")).count() == 1
        ledger_and_levels({"TEA": 1 + 2 + 5 + 1})  # warm-up, dies-1 (qty 2), five meanwhile, one after


def test_a_writer_that_hangs_gives_503_and_the_retry_finds_the_order_it_saved_later(served):
    # The workers wait 2 x busy_timeout for the writer's answer: 1 s here.
    box, token = one_thread_box(served, APPLIANCE_DATABASE_BUSY_TIMEOUT_MS="500")
    writer = box.writer_pid()

    freeze(writer)
    try:
        started = time.monotonic()
        status, body, _ = order(box.client(token), "hangs-1", qty=3)
        waited = time.monotonic() - started
    finally:
        os.kill(writer, signal.SIGCONT)  # it wakes up and saves the order it was handed

    assert status == 503 and "may or may not be saved" in body["error"], (status, body, waited, box.log_tail())
    assert 0.9 < waited < 10
    client = box.client(token)
    status, body, headers = wait_for(lambda: (r := order(client, "hangs-1", qty=3)) and r[0] == 201 and r, 30,
                                     "the retry")
    with box_database(box.home):
        assert IdempotencyKey.select().where(IdempotencyKey.key.endswith(":hangs-1")).count() == 1
        ledger_and_levels({"TEA": 1 + 3})


def test_a_thread_that_first_connects_to_a_frozen_writer_writes_the_order_itself(served):
    # The kernel accepts the connection for the frozen writer, which never answers the handshake:
    # the thread gives up after 2 x busy_timeout (1 s here), before sending anything, and writes
    # the order itself.
    box, token = one_thread_box(served, warm_up=False, APPLIANCE_DATABASE_BUSY_TIMEOUT_MS="500")
    writer = box.writer_pid()

    freeze(writer)
    try:
        started = time.monotonic()
        status, body, _ = order(box.client(token), "first-1")
        waited = time.monotonic() - started
    finally:
        os.kill(writer, signal.SIGCONT)

    assert status == 201, (status, body)
    assert 0.9 < waited < 10
    status, _, _ = order(box.client(token), "first-2")  # connects to the writer, awake again
    assert status == 201
    with box_database(box.home):
        assert IdempotencyKey.select().where(IdempotencyKey.key.endswith(":first-1")).count() == 1
        ledger_and_levels({"TEA": 2})
