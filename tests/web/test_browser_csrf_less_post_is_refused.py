"""In headless Chromium: a signed-in user's browser posting a form without the CSRF token (what a
hostile page would make it do) is refused and changes nothing."""
from __future__ import annotations

import pytest

from appliance import inventory

from .web_helpers import browser_sign_in

pytestmark = [pytest.mark.browser, pytest.mark.xdist_group("browser")]

POST_WITHOUT_TOKEN = """async () => {
  const body = new URLSearchParams({code: 'TEA', qty: '50'});
  const answer = await fetch('/stock/receive', {method: 'POST', body, credentials: 'same-origin'});
  return [answer.status, await answer.text()];
}"""


def test_a_post_without_the_token_is_refused(page, users, make_product):
    make_product("TEA", 350, stock=10)
    browser_sign_in(page, "staff")
    page.goto("/stock")
    status, body = page.evaluate(POST_WITHOUT_TOKEN)
    assert status == 403
    assert "did not come from this site" in body
    assert inventory.stock_summary(inventory.product_by_sku("TEA"))["on_hand"] == 10

    # The same form with its token works: the refusal was the token, not the user.
    page.click("#receive summary")
    page.fill("#receive-code", "TEA")
    page.fill("#receive-qty", "5")
    page.click("#receive button[type=submit]")
    page.wait_for_url("**/stock?q=TEA")
    assert inventory.stock_summary(inventory.product_by_sku("TEA"))["on_hand"] == 15
