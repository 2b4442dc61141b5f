"""In headless Chromium at tablet width, keyboard only: a cash sale shows the change in large type,
ends as delivered and opens its receipt with one key; a split between card and cash adds up."""
from __future__ import annotations

import pytest

from appliance.models import Order, Payment

from tests.servers.required import module

from .web_helpers import browser_sign_in, screenshot

expect = module("playwright.sync_api", "the browser tests drive Chromium with it: pip install -e '.[test]'").expect

pytestmark = [pytest.mark.browser, pytest.mark.xdist_group("browser")]


def scan(page, code: str) -> None:
    page.keyboard.type(code)
    page.keyboard.press("Enter")


def test_a_cash_sale_shows_the_change_and_opens_its_receipt_by_keyboard(page, users, make_product, settings):
    settings.shop.name, settings.shop.tax_number = "Corner Tea House", "DE123456789"
    make_product("TEA", 350, stock=10, name="Green tea")
    browser_sign_in(page, "staff")
    page.goto("/orders/new")
    scan(page, "2*TEA")
    expect(page.locator('tr[data-sku="TEA"] .qty')).to_have_value("2")

    page.keyboard.press("F4")                      # cash, for the whole total
    expect(page.locator(".pay-row .pay-amount")).to_have_value("7.00")
    assert page.evaluate("document.activeElement.name") == "pay_tendered"
    page.keyboard.type("5")                        # too little: said on the field, nothing sent
    page.keyboard.press("Enter")
    expect(page.locator('.pay-row [data-error="tendered"]')).to_have_text("Less than the amount: 2.00 more is needed.")
    assert Order.select().count() == 0
    page.keyboard.press("Control+A")
    page.keyboard.type("10")
    expect(page.locator("#pay-change")).to_have_text("3.00")
    assert float(page.eval_on_selector("#pay-change", "e => parseFloat(getComputedStyle(e).fontSize)")) >= 36
    screenshot(page, "counter-cash-change")
    page.keyboard.press("Enter")

    page.wait_for_url("**/orders/SO-*?sale=done")
    expect(page.locator("#sale-change")).to_have_text("3.00")
    assert "delivered" in page.inner_text("#order-status")
    assert page.evaluate("document.activeElement.id") == "open-receipt"
    page.keyboard.press("Enter")                   # one key: the receipt
    page.wait_for_url("**/orders/SO-*/receipt")
    expect(page.locator("#shop-name")).to_have_text("Corner Tea House")
    expect(page.locator("#receipt-payments")).to_contain_text("Change")
    screenshot(page, "counter-receipt")
    page.keyboard.press("n")                       # the next sale
    page.wait_for_url("**/orders/new")
    assert [(p.method, p.amount_cents, p.tendered_cents, p.change_cents) for p in Payment.select()] == [("cash", 700, 1000, 300)]
    assert Order.get().status == "delivered"


def test_a_split_between_card_and_cash_by_keyboard(page, users, make_product):
    make_product("MUG", 1250, stock=5, name="Mug")
    browser_sign_in(page, "staff")
    page.goto("/orders/new")
    scan(page, "MUG")
    expect(page.locator('tr[data-sku="MUG"] .qty')).to_have_value("1")
    page.keyboard.press("F7")                      # card, amount selected: type the card's part
    page.keyboard.type("10")
    expect(page.locator("#pay-left")).to_have_text("2.50")
    page.keyboard.press("F4")                      # cash for what is left
    expect(page.locator(".pay-row .pay-amount").nth(1)).to_have_value("2.50")
    page.keyboard.type("5")
    expect(page.locator("#pay-change")).to_have_text("2.50")
    page.keyboard.press("Enter")
    page.wait_for_url("**/orders/SO-*?sale=done")
    expect(page.locator("#sale-change")).to_have_text("2.50")
    assert [(p.method, p.amount_cents, p.tendered_cents) for p in Payment.select().order_by(Payment.id)] == [
        ("card", 1000, None), ("cash", 250, 500)]


def test_a_manager_takes_back_one_line_with_a_refund_by_keyboard(page, users, make_product, settings):
    from appliance import inventory, orders, payments
    make_product("TEA", 350, stock=10, name="Green tea")
    make_product("MUG", 1250, stock=5, name="Mug")
    order, _ = orders.create_order(settings, channel="store", actor="sam",
                                   lines=[orders.LineRequest("TEA", 2), orders.LineRequest("MUG", 1)],
                                   paid_with=payments.parse([{"method": "card", "amount_cents": 1950}]))
    browser_sign_in(page, "manager")
    page.goto(f"/orders/{order.number}")
    page.keyboard.press("t")                       # the return form's first quantity
    assert page.evaluate("document.activeElement.getAttribute('aria-label')") == "How many of TEA come back"
    page.keyboard.type("1")
    page.keyboard.press("Tab")                     # MUG stays 0
    page.keyboard.press("Tab")
    page.keyboard.type("3.50")                     # the refund
    page.keyboard.press("Tab")
    page.keyboard.type("c")                        # refund method: cash
    page.keyboard.press("Tab")
    page.keyboard.type("dented tin")               # the reason
    page.keyboard.press("Enter")
    expect(page.locator(".flash")).to_contain_text("taken back; 3.50 refunded")
    expect(page.locator("#order-refunded")).to_have_text("3.50")
    expect(page.locator("#timeline")).to_contain_text("returned 1 × TEA; refunded cash 3.50: dented tin")
    screenshot(page, "counter-partial-return")
    assert inventory.stock_summary(inventory.product_by_sku("TEA"))["on_hand"] == 9
    assert [(p.kind, p.method, p.amount_cents) for p in Payment.select().order_by(Payment.id)] == [
        ("payment", "card", 1950), ("refund", "cash", 350)]
