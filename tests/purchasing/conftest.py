"""Fixtures for suppliers, replenishment and purchase orders: products, a supplier, sales in the past."""
from __future__ import annotations

import functools
from datetime import timedelta

import pytest

from appliance import orders, suppliers
from appliance.models import Order

# the web tests' fixtures for the pages (users of each role, signed-in clients); the browser test is in
# tests/web, whose session-wide browser must stay the only one
from tests.web.conftest import admin, app, client_for, make_product, manager, password_hash, staff, users  # noqa: F401


@pytest.fixture
def stock_product(make_product):
    """make_product with purchasing's defaults: no stock unless asked, a cost of 100."""
    return functools.partial(make_product, stock=0, cost_cents=100)


@pytest.fixture
def sell(settings, calendar_now):
    """sell("TEA", 56, days_ago=10): an order for that many, dated that many days before the box's now."""
    def make(sku: str, qty: int, days_ago: float = 1):
        order, _ = orders.create_order(settings, channel="store", lines=[orders.LineRequest(sku, qty)], actor="test")
        Order.update(created_at=calendar_now.replace(tzinfo=None) - timedelta(days=days_ago)).where(Order.id == order.id).execute()
        return order
    return make


@pytest.fixture
def supplier(db):
    def make(name: str = "Leaf & Co", lead_time_days: int = 7, email: str | None = "orders@leaf.example",
             carries: dict | None = None):
        made = suppliers.create_supplier({"name": name, "email": email, "lead_time_days": lead_time_days}, "test")
        for sku, (cost, pack) in (carries or {}).items():
            suppliers.set_product(made.id, sku, cost, pack, "test")
        return made
    return make
