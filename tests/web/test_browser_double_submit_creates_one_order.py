"""In headless Chromium: a double click, and the same form posted again (a retry after a lost answer,
or a browser without the script's guard), still make exactly one order."""
from __future__ import annotations

import pytest

from appliance import inventory
from appliance.models import Order

from tests.servers.required import module

from .web_helpers import browser_sign_in

pytestmark = [pytest.mark.browser, pytest.mark.xdist_group("browser")]
expect = module("playwright.sync_api", "the browser tests drive Chromium with it: pip install -e '.[test]'").expect

POST_THE_FORM_TWICE = """async () => {
  const form = document.getElementById('order-form');
  const send = () => fetch(form.action, {method: 'POST', body: new FormData(form), credentials: 'same-origin'});
  const answers = await Promise.all([send(), send()]);
  return answers.map((r) => [r.status, new URL(r.url).pathname]);
}"""


def test_double_click_and_repost_of_one_form_make_one_order(page, users, make_product):
    make_product("TEA", 350, stock=10)
    browser_sign_in(page, "staff")
    page.goto("/orders/new")
    page.keyboard.type("TEA")
    page.keyboard.press("Enter")
    expect(page.locator('tr[data-sku="TEA"] .qty')).to_have_value("1")

    answers = page.evaluate(POST_THE_FORM_TWICE)   # both bypass the page's own guard
    assert [status for status, _ in answers] == [200, 200]
    assert answers[0][1] == answers[1][1] == "/orders/SO-000001"

    page.dblclick("#submit-order")
    page.wait_for_url("**/orders/SO-000001")
    assert "not entered twice" in page.inner_text(".flash")
    page.reload()
    assert Order.select().count() == 1
    assert inventory.stock_summary(inventory.product_by_sku("TEA"))["reserved"] == 1
