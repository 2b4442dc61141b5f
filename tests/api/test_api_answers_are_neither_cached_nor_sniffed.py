"""Every API answer, errors included, carries `Cache-Control: no-store` (no shared tablet or proxy keeps
customers and stock) and `X-Content-Type-Options: nosniff`, as the pages do."""
from __future__ import annotations

import pytest

from .conftest import order_body

CALLS = [
    ("GET", "staff", "/products", {}, 200),
    ("GET", "staff", "/products/TEA", {}, 200),
    ("POST", "staff", "/orders", {"json": order_body(("TEA", 1))}, 201),
    ("GET", None, "/openapi.json", {}, 200),
    ("GET", "staff", "/products/NO-SUCH-SKU", {}, 404),
    ("GET", None, "/orders", {}, 401),
    ("GET", None, "/orders", {"headers": {"Authorization": "Bearer not-a-token"}}, 401),
    ("POST", "staff", "/products", {"json": {"sku": "X", "name": "X", "price_cents": 1}}, 403),
    ("POST", "staff", "/orders", {"data": "{not json", "content_type": "application/json"}, 400),
    ("POST", "staff", "/orders", {"json": {"channel": "store", "lines": []}}, 422),
    ("GET", "staff", "/no-such-route", {}, 404),
    ("DELETE", "staff", "/products", {}, 405),
]


@pytest.mark.parametrize("method,role,path,kwargs,status", CALLS,
                         ids=[f"{m} {p} {s}" + ("" if r else " anonymous") + (" bad token" if "headers" in k else "")
                              for m, r, p, k, s in CALLS])
def test_an_api_answer_is_not_stored_and_not_sniffed(api, shop, method, role, path, kwargs, status):
    response = api.request(method, role, path, **kwargs)

    assert response.status_code == status, response.get_json()
    assert response.headers.get("Cache-Control") == "no-store"
    assert response.headers.get("X-Content-Type-Options") == "nosniff"
    assert response.mimetype == "application/json"
