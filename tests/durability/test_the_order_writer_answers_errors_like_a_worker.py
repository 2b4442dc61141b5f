"""Orders written by the order writer fail exactly like orders written by a web worker: the same
status, the same one error shape with its details, the same Idempotency-Key replay and conflict,
and nothing written by a refused order."""
from __future__ import annotations

import pytest

from .served import seed_products
from .stock_checks import box_database, ledger_and_levels

pytestmark = pytest.mark.slow


def test_refusals_and_replays_through_the_writer_keep_their_status_and_details(served):
    box = served()
    token = box.token("manager")
    box.start(workers=1)
    client = box.client(token)
    seed_products(client, {"TEA": 3})
    assert box.writer_pid() is not None

    status, body, _ = client.post("/orders", {"channel": "api", "lines": [{"sku": "NOPE", "qty": 1}]})
    assert status == 404 and body["error"] and body["details"] and set(body) == {"error", "details"}

    status, body, _ = client.post("/orders", {"channel": "api", "lines": [{"sku": "TEA", "qty": 5}]})
    assert status == 409 and body["details"] == [{"sku": "TEA", "requested": 5, "available": 3}]

    key = {"Idempotency-Key": "same"}
    status, first, _ = client.post("/orders", {"channel": "api", "lines": [{"sku": "TEA", "qty": 1}]}, headers=key)
    assert status == 201
    status, again, headers = client.post("/orders", {"channel": "api", "lines": [{"sku": "TEA", "qty": 1}]},
                                         headers=key)
    assert status == 201 and again["number"] == first["number"] and headers.get("idempotent-replayed") == "true"
    status, body, _ = client.post("/orders", {"channel": "api", "lines": [{"sku": "TEA", "qty": 2}]}, headers=key)
    assert status == 409 and body["details"][0]["order"] == first["number"]

    with box_database(box.home):
        ledger_and_levels({"TEA": 1})
