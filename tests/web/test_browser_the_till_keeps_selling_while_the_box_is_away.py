"""In headless Chromium: the box stops mid-shift; the till takes three sales from its own copy of the
catalogue (scanned, found by name, tapped on the favourites grid; one paid in cash, with a receipt
that says "not yet sent" and carries the sale's key), says how many wait, is reloaded (F5) and closed
and opened again from the browser's cache — no service worker — and when the box starts again on the
same address exactly three orders arrive, once each, the one whose stock went meanwhile `pending`
with the reason, and the screen says so."""
from __future__ import annotations

import json

import pytest

from appliance import counter_picks, inventory
from appliance.models import IdempotencyKey, Order, Payment

from tests.servers.required import module

from .web_helpers import browser_sign_in, screenshot

expect = module("playwright.sync_api", "the browser tests drive Chromium with it: pip install -e '.[test]'").expect

pytestmark = [pytest.mark.browser, pytest.mark.xdist_group("browser")]


def test_the_till_keeps_selling_while_the_box_is_away_and_each_sale_arrives_once(till, till_box, users, make_product):
    box = till_box
    make_product("TEA", 350, stock=10, barcode="4006381333931", name="Green tea")
    make_product("MILK", 129, stock=1, name="Whole milk")
    counter_picks.pin("MILK", True, "maria")                  # on the touch grid
    page = till.new_page()
    browser_sign_in(page, "staff")
    page.goto("/orders/new")
    banner = page.locator("#till-outbox")
    expect(banner).to_have_attribute("data-catalog", "2")     # the till's copy of the catalogue is made
    expect(page.locator("#favourite-grid button")).to_have_count(1)
    page.wait_for_timeout(1100)                               # a later answer signs the session cookie anew:
    page.evaluate("fetch('/orders/new/catalog')")             # the cached page must not depend on it

    box.stop()                                                # mid-shift, the box goes away
    page.keyboard.type("4006381333931")                       # 1: scanned, priced from the till's copy
    page.keyboard.press("Enter")
    expect(page.locator('tr[data-sku="TEA"] .qty')).to_have_value("1")
    page.keyboard.press("F4")
    page.keyboard.type("5")                                   # cash tendered: 5.00 for 3.50
    page.keyboard.press("F9")
    expect(banner).to_contain_text("1 sale is waiting on this till")
    receipt = page.locator("#offline-receipt")
    expect(receipt).to_contain_text("Not yet sent to the box")
    key = receipt.locator(".sale-key").inner_text()
    assert len(key) == 36
    expect(receipt).to_contain_text("cash 3.50 · tendered 5.00 · change 1.50")
    expect(page.locator("#line-rows tr")).to_have_count(0)

    page.keyboard.type("gReen")                               # 2: by name, from the till's copy
    expect(page.locator("#product-results li")).to_have_count(1)
    page.keyboard.press("Enter")
    expect(page.locator('tr[data-sku="TEA"] .qty')).to_have_value("1")
    expect(receipt).to_be_hidden()                            # the next sale began
    page.keyboard.press("F9")
    expect(banner).to_contain_text("2 sales are waiting")
    page.click('#favourite-grid button[data-sku="MILK"]')    # 3: a tap on the grid; the last milk
    expect(page.locator('tr[data-sku="MILK"] .qty')).to_have_value("1")
    page.keyboard.press("F9")
    expect(banner).to_contain_text("3 sales are waiting")
    inventory.adjust("MILK", -1, "test", "broken on the shelf")  # meanwhile, the milk went
    screenshot(page, "till-with-the-box-away")

    page.keyboard.press("F5")                                 # reloaded: the page comes from the cache
    expect(banner).to_contain_text("3 sales are waiting")
    page.close()                                              # closed and opened again: nothing lost
    page = till.new_page()
    page.goto("/orders/new")
    banner = page.locator("#till-outbox")
    expect(banner).to_contain_text("3 sales are waiting")
    expect(page.locator("#favourite-grid button")).to_have_count(1)   # the grid the box gave last
    assert Order.select().count() == 0

    box.start()                                               # back on the same address
    expect(banner).to_contain_text("All sales sent: 3 arrived at the box", timeout=20000)
    expect(banner).to_contain_text("(pending: a manager settles it)")
    orders = list(Order.select().order_by(Order.id))
    assert len(orders) == 3 and IdempotencyKey.select().count() == 3
    assert [o.status for o in orders] == ["delivered", "confirmed", "pending"]
    assert key in orders[0].note
    assert [(p.method, p.amount_cents) for p in Payment.select()] == [("cash", 350)]
    assert "not enough stock (1 × MILK with 0 available)" in json.loads(orders[2].pending_reasons)[0]
    page.reload()                                             # the box answers: nothing is sent again
    expect(banner).to_be_hidden()
    assert Order.select().count() == 3
