"""SIGTERM while requests are in flight: they complete, the server exits 0, one scheduler ran.

Six clients have sent an order's headers and half its body, so each request is accepted and being
read by a worker thread when SIGTERM reaches the master. They then send the rest: each must get its
full 201 (no reset), the orders must be in the database, and the master must exit with status 0.
Before that, the box's single scheduler is checked: the home's run/scheduler.lock is flocked by
exactly one process, the background process (not a web worker), whose pid the file names, and the
scheduler_heartbeat row is written.
"""
from __future__ import annotations

import http.client
import json
import socket
import time

import psutil
import pytest

from appliance.models import Order

from tests.servers.waiting import wait_for

from .served import seed_products
from .stock_checks import box_database, ledger_and_levels

pytestmark = pytest.mark.slow
IN_FLIGHT = 6


def test_sigterm_lets_accepted_requests_finish_and_exits_zero(served):
    box = served(env={"APPLIANCE_SERVER_GRACEFUL_TIMEOUT_SECONDS": "10"})
    token = box.token("manager")
    box.start(workers=2)
    seed_products(box.client(token), {"TEA": 100})
    workers = box.worker_pids()
    assert len(workers) == 2

    # Exactly one scheduler: one flock holder, the background process, named in the lock file; it
    # writes heartbeats.
    lock = box.home / "run" / "scheduler.lock"
    holders = wait_for(box.scheduler_holders, 15, "the scheduler lock")
    assert holders == [box.background_pid()] and holders[0] not in workers + [box.pid], (holders, workers)
    assert lock.read_text().strip() == str(holders[0])
    assert wait_for(box.scheduler_heartbeat, 15, "the scheduler heartbeat")

    body = json.dumps({"channel": "api", "lines": [{"sku": "TEA", "qty": 1}]}).encode()
    half = len(body) // 2
    socks = []
    try:
        for i in range(IN_FLIGHT):
            s = socket.create_connection(("127.0.0.1", box.port), timeout=20)
            s.sendall((f"POST /api/v1/orders HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer {token}\r\n"
                       f"Content-Type: application/json\r\nIdempotency-Key: inflight-{i}\r\n"
                       f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n").encode() + body[:half])
            socks.append(s)
        client_ports = {s.getsockname()[1] for s in socks}

        def accepted_by_workers() -> bool:
            seen = set()
            for pid in workers:
                for c in psutil.Process(pid).net_connections(kind="tcp"):
                    if c.raddr and c.raddr.port in client_ports and c.status == psutil.CONN_ESTABLISHED:
                        seen.add(c.raddr.port)
            return seen == client_ports
        wait_for(accepted_by_workers, 10, "the workers to accept every in-flight connection")
        time.sleep(0.2)  # and start reading them

        box.terminate()
        time.sleep(0.5)
        assert box.proc.poll() is None, "the master exited before its in-flight requests finished"
        for s in socks:
            s.sendall(body[half:])
        for s in socks:
            response = http.client.HTTPResponse(s)
            response.begin()  # a reset here would raise ConnectionResetError
            payload = json.loads(response.read())
            assert response.status == 201, payload
            assert payload["status"] == "confirmed"
    finally:
        for s in socks:
            s.close()

    assert box.wait(20) == 0, box.log_tail()
    wait_for(lambda: not box.group_pids(), 10, "every worker to exit")
    assert "Shutting down: Master" in box.log_tail()
    with box_database(box.home):
        assert Order.select().count() == IN_FLIGHT
        ledger_and_levels({"TEA": IN_FLIGHT})
