"""An order confirmed long ago and never shipped trips the overdue-orders check; one waiting for
approval too long trips stuck_pending; a stock level edited behind the ledger's back trips stock_ledger."""
from __future__ import annotations

from datetime import timedelta

import pytest
from appliance import inventory, orders
from appliance.models import Order, StockLevel, utcnow
from monitors import engine

pytestmark = pytest.mark.calendar


def _order(settings, qty: int = 1) -> Order:
    if not inventory.product_by_code("TEA"):
        inventory.create_product({"sku": "TEA", "name": "Tea", "price_cents": 350}, "test")
        inventory.receive("TEA", 100, "test")
    order, _ = orders.create_order(settings, channel="store", lines=[orders.LineRequest("TEA", qty)], actor="test")
    return order


def test_injected_overdue_order_turns_check_warn_naming_it(db, settings):
    assert engine.run_check("overdue_orders", settings).state == "ok"
    order = _order(settings)
    assert order.status == "confirmed"
    late = utcnow() - timedelta(hours=settings.orders.overdue_after_hours + 1)
    Order.update(confirmed_at=late, created_at=late).where(Order.id == order.id).execute()

    state = engine.run_check("overdue_orders", settings)

    assert state.state == "warn"
    assert state.value == "1"
    assert order.number in state.reason


def test_order_waiting_for_approval_too_long_trips_stuck_pending(db, settings):
    order = _order(settings)
    long_ago = utcnow() - timedelta(hours=settings.orders.pending_stuck_after_hours + 1)
    Order.update(status="pending", created_at=long_ago).where(Order.id == order.id).execute()

    assert engine.run_check("stuck_pending", settings).state == "warn"


def test_stock_level_that_differs_from_the_ledger_is_crit(db, settings):
    _order(settings)
    assert engine.run_check("stock_ledger", settings).state == "ok"
    StockLevel.update(on_hand=StockLevel.on_hand + 5).execute()

    state = engine.run_check("stock_ledger", settings)
    assert state.state == "crit"
    assert "TEA" in state.reason
