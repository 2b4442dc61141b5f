"""In headless Chromium: staff signs in and enters a counter order with the keyboard only, scanning
codes like a barcode scanner does (code + Enter), then sees the order confirmed and stock reduced."""
from __future__ import annotations

import pytest

from appliance import inventory
from appliance.models import Customer, Order

from tests.servers.required import module

from .web_helpers import browser_sign_in, screenshot

expect = module("playwright.sync_api", "the browser tests drive Chromium with it: pip install -e '.[test]'").expect

pytestmark = [pytest.mark.browser, pytest.mark.xdist_group("browser")]


def scan(page, code: str) -> None:
    page.keyboard.type(code)
    page.keyboard.press("Enter")


def test_staff_scans_skus_and_submits_with_one_key(page, users, make_product):
    make_product("TEA", 350, stock=10, barcode="4006381333931", name="Green tea")
    make_product("MUG", 1200, stock=2, name="Mug")
    browser_sign_in(page, "staff")
    page.goto("/orders/new")
    assert page.evaluate("document.activeElement.id") == "scan"  # focus starts in the scan field

    scan(page, "4006381333931")   # a barcode
    scan(page, "TEA")             # the same product by SKU: increments the line
    scan(page, "MUG")
    page.wait_for_selector('tr[data-sku="MUG"]')
    expect(page.locator('tr[data-sku="TEA"] .qty')).to_have_value("2")
    assert page.inner_text("#order-total") == "19.00"

    scan(page, "NOPE")            # unknown code: said next to the field, nothing added
    expect(page.locator("#scan-message")).to_contain_text("NOPE")
    assert page.locator("#line-rows tr").count() == 2

    # Quantity edited inline: Tab from the scan field reaches the first line's quantity.
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.getAttribute('aria-label')") == "Quantity of TEA"
    page.keyboard.press("Control+A")
    page.keyboard.type("3")
    page.keyboard.press("Enter")  # back to scanning, not a half-finished submit
    assert page.evaluate("document.activeElement.id") == "scan"
    assert page.inner_text("#order-total") == "22.50"
    screenshot(page, "order-entry")

    page.keyboard.press("F9")
    page.wait_for_url("**/orders/SO-*")
    assert "confirmed" in page.inner_text("#order-status")
    assert "is confirmed" in page.inner_text(".flash")
    screenshot(page, "order-detail")

    order = Order.get()
    assert [(l.product.sku, l.qty) for l in order.lines] == [("TEA", 3), ("MUG", 1)]
    assert inventory.stock_summary(inventory.product_by_sku("TEA"))["available"] == 7

    page.goto("/stock?q=TEA")
    row = page.locator('tr.product[data-sku="TEA"]')
    assert row.locator(".reserved").inner_text() == "3"
    assert row.locator(".available").inner_text() == "7"


def test_a_line_short_of_stock_is_marked_before_submitting(page, users, make_product):
    make_product("MUG", 1200, stock=2, name="Mug")
    browser_sign_in(page, "staff")
    page.goto("/orders/new")
    scan(page, "3*MUG")           # three at once; only two in stock
    page.wait_for_selector('tr[data-sku="MUG"].short')
    assert "Only 2 available" in page.inner_text('tr[data-sku="MUG"] .stock')
    screenshot(page, "order-entry-short")
    page.keyboard.press("Control+Enter")
    assert page.is_visible("#submit-message")
    assert "MUG" in page.inner_text("#submit-message")
    assert page.url.endswith("/orders/new")
    assert Order.select().count() == 0


def test_staff_picks_a_customer_by_phone_without_the_mouse(page, users, make_product):
    make_product("TEA", 350, stock=10)
    Customer.create(name="Ana Lima", phone="5550101")
    Customer.create(name="Ana Berg", phone="5550199")
    browser_sign_in(page, "staff")
    page.goto("/orders/new")
    scan(page, "TEA")
    expect(page.locator('tr[data-sku="TEA"] .qty')).to_have_value("1")
    page.keyboard.press("F2")
    page.keyboard.type("0101")
    page.keyboard.press("Enter")
    expect(page.locator("#customer-results button")).to_have_count(1)
    page.keyboard.press("Enter")               # the first match has the focus
    expect(page.locator("#customer-chosen-name")).to_have_text("Ana Lima")
    assert page.evaluate("document.activeElement.id") == "scan"
    page.keyboard.press("F9")
    page.wait_for_url("**/orders/SO-*")
    assert Order.get().customer.name == "Ana Lima"


def test_an_unknown_phone_opens_the_new_customer_fields(page, users, make_product):
    make_product("TEA", 350, stock=10)
    browser_sign_in(page, "staff")
    page.goto("/orders/new")
    scan(page, "TEA")
    expect(page.locator('tr[data-sku="TEA"] .qty')).to_have_value("1")
    page.keyboard.press("F2")
    page.keyboard.type("5550777")
    page.keyboard.press("Enter")
    expect(page.locator("#new_customer_phone")).to_have_value("5550777")
    assert page.evaluate("document.activeElement.id") == "new_customer_name"
    page.keyboard.type("Cy Dahl")
    page.keyboard.press("Control+Enter")
    page.wait_for_url("**/orders/SO-*")
    assert (Order.get().customer.name, Order.get().customer.phone) == ("Cy Dahl", "5550777")
