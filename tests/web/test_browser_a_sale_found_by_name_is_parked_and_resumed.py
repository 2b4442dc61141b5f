"""In headless Chromium, keyboard only, without a scanner: staff types part of a product's name (words in
any order, any case), picks it with the arrow keys and Enter, adds another by its SKU typed in lower
case, has a quantity of 1.5 refused on its line, parks the sale with F3, serves someone else, leaves
the page (which parks that sale too), comes back, resumes the first sale from the parked list and
submits it."""
from __future__ import annotations

import pytest

from appliance.models import Order

from tests.servers.required import module

from .web_helpers import browser_sign_in, screenshot

expect = module("playwright.sync_api", "the browser tests drive Chromium with it: pip install -e '.[test]'").expect

pytestmark = [pytest.mark.browser, pytest.mark.xdist_group("browser")]


def test_a_sale_by_name_without_scanning_is_parked_and_resumed(page, users, make_product):
    make_product("OAT-1L", 199, stock=7, name="Oat Milk 1L")
    make_product("MILK-1L", 129, stock=5, name="Whole Milk 1L")
    make_product("TEA", 350, stock=10, name="Green tea")
    browser_sign_in(page, "staff")
    page.goto("/orders/new")

    page.keyboard.type("MiLk")                                    # part of a name, any case: two match
    expect(page.locator("#product-results li")).to_have_count(2)
    page.keyboard.press("ArrowDown")
    page.keyboard.press("ArrowDown")
    expect(page.locator('#product-results li[aria-selected="true"]')).to_contain_text("Whole Milk 1L")
    page.keyboard.press("Enter")
    expect(page.locator('tr[data-sku="MILK-1L"] .qty')).to_have_value("1")
    assert page.evaluate("document.activeElement.id") == "scan"
    page.keyboard.type("2*tea")                                   # a SKU in lower case, with a quantity
    page.keyboard.press("Enter")
    expect(page.locator('tr[data-sku="TEA"] .qty')).to_have_value("2")
    assert page.inner_text("#order-total") == "8.29"
    page.keyboard.press("Tab")                                    # a quantity of 1.5 is refused on its line
    page.keyboard.press("Control+A")
    page.keyboard.type("1.5")
    expect(page.locator('tr[data-sku="MILK-1L"] .stock')).to_contain_text("1.5 is not a whole number")
    page.keyboard.press("F9")
    expect(page.locator("#submit-message")).to_contain_text("line 1 (MILK-1L)")
    assert page.evaluate("document.activeElement.getAttribute('aria-label')") == "Quantity of MILK-1L"
    page.keyboard.press("Control+A")
    page.keyboard.type("1")
    page.keyboard.press("Escape")
    screenshot(page, "order-entry-by-name")

    page.keyboard.press("F3")                                     # parked: the screen is free
    expect(page.locator("#line-rows tr")).to_have_count(0)
    expect(page.locator("#parked-count")).to_have_text("1")

    page.keyboard.type("milk oat")                                # the next customer: words in any order
    expect(page.locator("#product-results li")).to_have_count(1)
    expect(page.locator("#product-results li")).to_contain_text("Oat Milk 1L")
    page.keyboard.press("Enter")                                  # the only match is added
    expect(page.locator('tr[data-sku="OAT-1L"] .qty')).to_have_value("1")
    page.goto("/orders")                                          # leaving the page parks this sale too
    page.goto("/orders/new")
    expect(page.locator("#parked-count")).to_have_text("2")
    expect(page.locator("#line-rows tr")).to_have_count(0)

    page.keyboard.press("Shift+F3")                               # the newest first; ↓ to the first sale
    page.keyboard.press("ArrowDown")
    assert "Whole Milk 1L" in page.evaluate("document.activeElement.textContent")
    page.keyboard.press("Enter")
    expect(page.locator('tr[data-sku="TEA"] .qty')).to_have_value("2")
    expect(page.locator("#parked-count")).to_have_text("1")
    assert page.inner_text("#order-total") == "8.29"
    page.keyboard.press("F9")
    page.wait_for_url("**/orders/SO-*")
    assert sorted((line.product.sku, line.qty) for line in Order.get().lines) == [("MILK-1L", 1), ("TEA", 2)]
    page.goto("/orders/new")
    expect(page.locator("#parked-list li")).to_have_count(1)
    expect(page.locator("#parked-list li")).to_contain_text("Oat Milk 1L")
