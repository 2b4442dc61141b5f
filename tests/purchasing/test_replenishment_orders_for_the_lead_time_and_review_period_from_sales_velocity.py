"""A suggestion covers what sells over the supplier's lead time plus the review period (velocity over
`replenishment.velocity_days`), less what is available and on order, at least the reorder quantity and
in whole packs; sales older than the window and cancelled orders do not count."""
from __future__ import annotations

import pytest

from appliance import orders, purchasing, replenishment


def suggestion(settings, sku: str, now) -> dict | None:
    found = [s for s in replenishment.suggestions(settings, now.replace(tzinfo=None)) if s["sku"] == sku]
    return found[0] if found else None


def test_it_covers_lead_time_and_review_period_of_sales_less_what_is_available(settings, calendar_now, stock_product,
                                                                               sell, supplier):
    stock_product("TEA", stock=60, reorder_point=5)
    supplier("Leaf & Co", lead_time_days=7, carries={"TEA": (120, 1)})
    sell("TEA", 56, days_ago=3)  # 56 in the 28-day window: 2 a day
    settings.replenishment.cover_days = 14
    found = suggestion(settings, "TEA", calendar_now)
    # position 4 <= 5 + 2 x 7; target 5 + 2 x (7 + 14) = 47; order 47 - 4
    assert (found["available"], found["per_day"], found["suggested_qty"]) == (4, 2.0, 43)
    assert (found["supplier"], found["lead_time_days"], found["unit_cost_cents"]) == ("Leaf & Co", 7, 120)


def test_a_product_selling_fast_is_suggested_before_it_reaches_its_reorder_point(settings, calendar_now,
                                                                                 stock_product, sell, supplier):
    stock_product("TEA", stock=70, reorder_point=5)
    supplier("Slow Boat", lead_time_days=10, carries={"TEA": (100, 1)})
    sell("TEA", 56, days_ago=1)  # 2 a day; 14 left: 20 sell before a delivery would arrive
    assert suggestion(settings, "TEA", calendar_now)["suggested_qty"] == 5 + 2 * (10 + 14) - 14
    supplier("Next Door", lead_time_days=1, carries={"TEA": (90, 1)})  # cheaper and quick: bought there
    assert suggestion(settings, "TEA", calendar_now) is None  # 14 > 5 + 2 x 1


def test_without_sales_it_refills_to_the_reorder_point_at_least_the_reorder_quantity_in_whole_packs(
        settings, calendar_now, stock_product, supplier):
    stock_product("MUG", stock=1, reorder_point=3)
    assert suggestion(settings, "MUG", calendar_now)["suggested_qty"] == 2
    stock_product("CUP", stock=1, reorder_point=3, reorder_qty=10)
    supplier(carries={"CUP": (50, 12)})
    assert suggestion(settings, "CUP", calendar_now)["suggested_qty"] == 12
    assert suggestion(settings, "MUG", calendar_now)["supplier"] is None


@pytest.mark.calendar
def test_sales_outside_the_window_and_cancelled_orders_do_not_count(settings, calendar_now, stock_product, sell):
    stock_product("TEA", stock=100, reorder_point=50)
    sell("TEA", 40, days_ago=29)
    cancelled = sell("TEA", 28, days_ago=2)
    orders.transition(cancelled.number, "cancel", "test")
    sell("TEA", 28, days_ago=27)  # 1 a day
    found = suggestion(settings, "TEA", calendar_now)
    assert (found["available"], found["per_day"], found["suggested_qty"]) == (32, 1.0, 50 + 14 - 32)


def test_what_is_on_order_counts_as_on_its_way(settings, calendar_now, stock_product, supplier):
    stock_product("MUG", stock=0, reorder_point=10)
    supplier(carries={"MUG": (50, 1)})
    (po,) = purchasing.create_from_suggestions(replenishment.suggestions(settings), "test")
    assert [(line.product.sku, line.qty_ordered) for line in purchasing.lines_of(po)] == [("MUG", 10)]
    assert suggestion(settings, "MUG", calendar_now) is None  # ordered already: not suggested twice
    purchasing.cancel(po.id, "test", calendar_now.replace(tzinfo=None))
    assert suggestion(settings, "MUG", calendar_now)["on_order"] == 0
