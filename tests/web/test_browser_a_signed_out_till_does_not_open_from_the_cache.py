"""In headless Chromium: the till's page stays in the browser's cache for a shift so that it opens
while the box is away. Once its user signs out, it does not: with the box away, opening the till's
address fails instead of showing the last user's till from the cache."""
from __future__ import annotations

import pytest

from tests.servers.required import module

from .web_helpers import browser_sign_in

playwright = module("playwright.sync_api", "the browser tests drive Chromium with it: pip install -e '.[test]'")

pytestmark = [pytest.mark.browser, pytest.mark.xdist_group("browser")]


def test_after_sign_out_the_cached_till_is_gone(till, till_box, users, make_product):
    make_product("TEA", 350, stock=10)
    page = till.new_page()
    browser_sign_in(page, "staff")
    page.goto("/orders/new")
    playwright.expect(page.locator("#till-outbox")).to_have_attribute("data-catalog", "1")  # the till is up

    page.click("form[action='/logout'] button")
    page.wait_for_url(lambda url: "/login" in url)
    till_box.stop()
    with pytest.raises(playwright.Error, match="ERR_CONNECTION_REFUSED"):
        page.goto("/orders/new")
