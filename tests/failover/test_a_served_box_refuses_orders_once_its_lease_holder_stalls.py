"""A real `appliance serve` (gunicorn workers + the order writer process, which loads only the core)
on a box of a pair: orders are taken while its lease holder renews; once the holder stalls (SIGSTOP)
the order writer itself refuses at the permit's deadline — 503 "This box is fenced: …" — and /readyz
is 503; once the holder runs again the box takes orders again."""
from __future__ import annotations

import pytest

from tests.durability.served import ServedAppliance, seed_products
from tests.failover.pair import Box, TTL, failover_toml, wait_until_writing
from tests.servers.etcd import etcd_cluster  # noqa: F401
from tests.servers.waiting import wait_for

pytestmark = pytest.mark.slow


def order(client, key: str):
    return client.post("/orders", {"channel": "api", "lines": [{"sku": "TEA", "qty": 1}]},
                       headers={"Idempotency-Key": key})


def test_orders_stop_at_the_deadline_and_resume_with_the_lease(tmp_path, etcd_cluster):
    served = ServedAppliance(tmp_path / "box-a").init()
    token = served.token("manager")
    with open(served.home / "appliance.toml", "a") as f:
        f.write(failover_toml("box-a", etcd_cluster.endpoints, "primary", "/served/"))
    holder = Box("box-a", served.home).start()
    try:
        first = wait_until_writing(holder)
        served.start(workers=1)
        wait_for(lambda: served.writer_pid() and (served.home / "run" / "order-writer.pid").exists(), 30,
                 "the order writer to listen")
        client = served.client(token)
        seed_products(client, {"TEA": 100})
        assert order(client, "before")[0] == 201

        holder.pause()
        wait_for(lambda: not holder.writes(), timeout=TTL + 2, what="the permit to run out", step=0.01)
        status, body, _ = order(client, "while-fenced")
        assert status == 503, body
        assert body["error"].startswith("This box is fenced: its write permit (epoch ") and "ran out" in body["error"]
        assert served.writer_pid() is not None, "the order writer was running and refused it"
        ready = served.client().request("GET", "/readyz")
        assert ready[0] == 503 and "fenced" in ready[1]["reason"]

        holder.resume()
        wait_until_writing(holder, timeout=3 * TTL)
        assert holder.permit().epoch >= first.epoch
        status, body, _ = order(client, "while-fenced")  # the till's retry, same key
        assert status == 201, body
        assert client.get("/orders?limit=10")[0] == 200
    finally:
        served.stop()
        holder.stop()
