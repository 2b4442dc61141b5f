"""In headless Chromium: an order over the approval limit waits; staff cannot approve it, a manager
finds it on the dashboard and approves it, and the timeline records who did it."""
from __future__ import annotations

import pytest

from appliance import orders

from .web_helpers import browser_sign_in, screenshot

pytestmark = [pytest.mark.browser, pytest.mark.xdist_group("browser")]


def test_manager_approves_what_staff_may_not(page, users, make_product, settings):
    make_product("SAFE", 150_000, stock=3, name="Safe")
    order, _ = orders.create_order(settings, channel="phone", lines=[orders.LineRequest("SAFE", 1)], actor="sam")
    assert order.status == "pending"

    browser_sign_in(page, "staff")
    page.goto(f"/orders/{order.number}")
    assert "above the approval limit" in page.inner_text(".notice")
    assert page.locator("button", has_text="Approve").count() == 0
    page.click("text=Sign out")
    page.wait_for_url("**/login")

    browser_sign_in(page, "manager")
    page.goto("/reports")
    screenshot(page, "reports")
    page.click(f"#approvals >> text={order.number}")
    page.wait_for_url(f"**/orders/{order.number}")
    screenshot(page, "order-pending")
    page.click("button:has-text('Approve')")
    page.wait_for_url(f"**/orders/{order.number}")
    assert "confirmed" in page.inner_text("#order-status")
    assert "pending → confirmed by maria" in " ".join(page.inner_text("#timeline").split())
    assert orders.get_order(order.number).status == "confirmed"
