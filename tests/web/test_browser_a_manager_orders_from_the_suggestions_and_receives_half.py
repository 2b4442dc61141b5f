"""In the browser, a manager turns the replenishment suggestions into a purchase order, sends it, and
receives half of each line: the order is partly received, the stock levels rose by exactly that, and
the ledger holds one "receive" row per line with the order's number (levels equal the ledger)."""
from __future__ import annotations

import pytest

from appliance import inventory
from appliance.models import StockMovement

from tests.purchasing.conftest import sell, stock_product, supplier  # noqa: F401  (fixtures)

from .web_helpers import browser_sign_in

pytestmark = pytest.mark.browser


def test_a_manager_creates_a_purchase_order_from_suggestions_and_receives_half(page, users, stock_product, supplier, sell):
    stock_product("TEA", stock=30, reorder_point=4)
    stock_product("MUG", stock=1, reorder_point=5)
    supplier("Leaf & Co", lead_time_days=2, carries={"TEA": (120, 1), "MUG": (300, 2)})
    sell("TEA", 28, days_ago=5)  # 1 a day: 2 left, 14-day review → 4 + 16 - 2 = 18
    browser_sign_in(page, "manager")
    page.click("nav >> text=Purchasing")
    assert page.inner_text("tr.suggestion[data-sku=TEA] td.suggested") == "18"
    assert page.inner_text("tr.suggestion[data-sku=MUG] td.suggested") == "4"  # 5 - 1, in packs of 2
    page.click("#create-from-suggestions")
    page.wait_for_selector("#po-lines")
    number = page.inner_text("h1").split()[-1]
    page.click("#mark-sent")
    page.wait_for_selector("#receive-po")
    page.fill("#receive-TEA", "9")
    page.fill("#receive-MUG", "2")
    page.click("#receive-po")
    page.wait_for_selector("text=Received 11 unit(s).")
    assert page.inner_text("#po-status") == "partly_received"
    assert page.inner_text("tr[data-sku=TEA] td.received") == "9"
    assert page.input_value("#receive-TEA") == "" and page.get_attribute("#receive-TEA", "max") == "9"
    tea, mug = (inventory.stock_summary(inventory.product_by_sku(sku)) for sku in ("TEA", "MUG"))
    assert (tea["on_hand"], tea["available"]) == (30 + 9, 2 + 9)  # 28 of the 30 are reserved by the sale
    assert (mug["on_hand"], mug["available"]) == (1 + 2, 1 + 2)
    ledger = sorted((m.product.sku, m.kind, m.on_hand_delta, m.actor)
                    for m in StockMovement.select().where(StockMovement.reference == number))
    assert ledger == [("MUG", "receive", 2, "maria"), ("TEA", "receive", 9, "maria")]
    assert inventory.ledger_mismatches() == []
