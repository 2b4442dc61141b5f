"""API tests run twice: on SQLite and on a real PostgreSQL cluster (tests/servers/postgres.py).

`api` is a client with one bearer token per role, so every test can check access control.
"""
from __future__ import annotations

import pickle

import pytest

from appliance import accounts, inventory, orders
from appliance.models import ROLES
from tests.conftest import on_both_engines
from web import create_app


database_url = on_both_engines()


class Api:
    """Calls the API as a role: api.post("manager", "/products", json=...)."""

    def __init__(self, client, tokens: dict[str, str]):
        self.client = client
        self.tokens = tokens

    def _headers(self, role: str | None, extra: dict | None) -> dict:
        headers = dict(extra or {})
        if role is not None:
            headers["Authorization"] = f"Bearer {self.tokens[role]}"
        return headers

    def request(self, method: str, role: str | None, path: str, headers: dict | None = None, **kwargs):
        return self.client.open("/api/v1" + path, method=method, headers=self._headers(role, headers), **kwargs)

    def get(self, role, path, **kw):
        return self.request("GET", role, path, **kw)

    def post(self, role, path, **kw):
        return self.request("POST", role, path, **kw)

    def put(self, role, path, **kw):
        return self.request("PUT", role, path, **kw)

    def patch(self, role, path, **kw):
        return self.request("PATCH", role, path, **kw)


@pytest.fixture
def app(settings, db):
    return create_app(settings, connect=False)


@pytest.fixture
def api(app) -> Api:
    tokens = {role: accounts.create_token(f"test-{role}", role, "test")[1] for role in ROLES}
    return Api(app.test_client(), tokens)


@pytest.fixture
def shop(db):
    """A few products with stock on the shop floor and in the warehouse."""
    inventory.create_location("warehouse", "Warehouse", 50, "test")
    for sku, price, floor, warehouse in (("TEA", 350, 10, 0), ("MUG", 850, 3, 5), ("HONEY", 990, 2, 0)):
        inventory.create_product({"sku": sku, "name": sku.title(), "price_cents": price, "reorder_point": 4,
                                  "reorder_qty": 12}, "test")
        inventory.receive(sku, floor, "test", "floor")
        if warehouse:
            inventory.receive(sku, warehouse, "test", "warehouse")
    return ["TEA", "MUG", "HONEY"]


@pytest.fixture
def pickled_writer(settings) -> list[dict]:
    """Orders placed go through a stand-in for the order writer's socket: each request is pickled
    and unpickled as it crosses, and written by `orders.written_order` as the writer does; the
    requests sent are listed."""
    sent: list[dict] = []

    def writer(request: dict):
        sent.append(request)
        return orders.written_order(settings, pickle.loads(pickle.dumps(request)))

    orders.send_orders_through(writer)
    yield sent
    orders.send_orders_through(None)


def order_body(*lines, channel="store", **extra) -> dict:
    return {"channel": channel, "lines": [{"sku": sku, "qty": qty} for sku, qty in lines]} | extra


def stock(api: Api, sku: str) -> dict:
    response = api.get("staff", f"/stock/{sku}")
    assert response.status_code == 200, response.get_json()
    return response.get_json()
