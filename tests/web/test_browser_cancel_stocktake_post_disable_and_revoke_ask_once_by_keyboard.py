"""In headless Chromium, keyboard only: cancelling an order, posting a stocktake, disabling a user and
revoking a token each open one dialog; Esc leaves everything as it was, Enter confirms; the ones that
change business data take a reason, shown in the order timeline and kept with the stocktake."""
from __future__ import annotations

import pytest

from appliance import accounts, orders, stocktake
from appliance.models import ApiToken, StocktakeSession, User

from .web_helpers import browser_sign_in

pytestmark = [pytest.mark.browser, pytest.mark.xdist_group("browser")]


def _open_dialog(page, button_text: str, dialog: str):
    page.locator(f"button[data-confirm='{dialog}']", has_text=button_text).focus()
    page.keyboard.press("Enter")
    page.wait_for_selector(f"#{dialog}[open]")


def test_each_confirmation_is_asked_once_esc_cancels_and_enter_confirms(page, users, make_product, settings):
    make_product("TEA", stock=10)
    order, _ = orders.create_order(settings, channel="phone", lines=[orders.LineRequest("TEA", 2)], actor="sam")
    take = stocktake.open_session("floor", "sam")
    stocktake.record_count(take.id, "TEA", 7, "sam")
    accounts.create_token("till-sync", "staff", "test")
    browser_sign_in(page, "admin")

    page.goto(f"/orders/{order.number}")
    _open_dialog(page, "Cancel order", "cancel-dialog")
    page.keyboard.press("Escape")
    page.wait_for_selector("#cancel-dialog:not([open])", state="attached")
    assert orders.get_order(order.number).status == "confirmed"
    _open_dialog(page, "Cancel order", "cancel-dialog")
    page.keyboard.type("customer changed their mind")  # the reason field has the focus
    page.keyboard.press("Enter")
    page.wait_for_selector("text=cancel order done")
    assert "customer changed their mind" in page.inner_text("#timeline")
    assert orders.get_order(order.number).status == "cancelled"

    page.goto(f"/stocktake/{take.id}")
    _open_dialog(page, "Post variances", "post-dialog")
    page.keyboard.type("monthly count")
    page.keyboard.press("Enter")
    page.wait_for_selector("#posted")
    assert "monthly count" in page.inner_text("#posted")
    assert StocktakeSession.get_by_id(take.id).status == "posted"

    page.goto("/admin/users")
    _open_dialog(page, "Disable", "disable-sam")
    page.keyboard.press("Escape")
    page.wait_for_selector("#disable-sam:not([open])", state="attached")
    assert User.get(User.username == "sam").active
    _open_dialog(page, "Disable", "disable-sam")
    page.keyboard.press("Enter")  # the Confirm button has the focus
    page.wait_for_selector("text=sam is disabled")
    assert not User.get(User.username == "sam").active

    page.goto("/admin/tokens")
    _open_dialog(page, "Revoke", "revoke-1")
    page.keyboard.press("Enter")
    page.wait_for_selector("text=Token till-sync is revoked")
    assert ApiToken.get(ApiToken.name == "till-sync").revoked_at is not None
