"""The order page shows its timeline and exactly the actions the user's role allows in its state."""
from __future__ import annotations

import re

import pytest

from appliance import inventory, orders

from .web_helpers import post_form


def offered(client, number: str) -> set[str]:
    body = client.get(f"/orders/{number}").get_data(as_text=True)
    return set(re.findall(rf'action="/orders/{number}/(\w+)"', body))


@pytest.fixture
def confirmed(make_product, settings):
    make_product("TEA", 350, stock=10)
    order, _ = orders.create_order(settings, channel="web", lines=[orders.LineRequest("TEA", 2)], actor="sam")
    return order.number


@pytest.fixture
def pending(make_product, settings):
    make_product("SAFE", 150_000, stock=3)
    order, _ = orders.create_order(settings, channel="phone", lines=[orders.LineRequest("SAFE", 1)], actor="sam")
    return order.number


def test_staff_may_ship_cancel_or_take_payment_for_a_confirmed_order(staff, confirmed):
    assert offered(staff, confirmed) == {"ship", "cancel", "pay"}


def test_only_a_manager_may_approve_or_reject_a_pending_order(staff, manager, pending):
    assert offered(staff, pending) == set()
    assert offered(manager, pending) == {"approve", "cancel"}
    assert post_form(staff, f"/orders/{pending}/approve").status_code == 403
    assert post_form(staff, f"/orders/{pending}/cancel").status_code == 403
    assert post_form(manager, f"/orders/{pending}/approve").status_code == 302
    assert orders.get_order(pending).status == "confirmed"


def test_ship_deliver_and_return_walk_the_timeline(staff, manager, confirmed):
    assert post_form(staff, f"/orders/{confirmed}/ship", {"carrier": "DHL", "tracking_number": "JJD01"}).status_code == 302
    assert offered(staff, confirmed) == {"deliver", "pay"}  # unpaid: it can still be paid
    assert offered(manager, confirmed) == {"deliver", "return", "pay"}
    assert post_form(staff, f"/orders/{confirmed}/deliver").status_code == 302
    assert post_form(staff, f"/orders/{confirmed}/return").status_code == 403  # returns need a manager
    assert post_form(manager, f"/orders/{confirmed}/return", {"note": "broken seal"}).status_code == 302
    body = " ".join(manager.get(f"/orders/{confirmed}").get_data(as_text=True).split())
    for step in ("<strong>confirmed</strong> by sam", "confirmed → <strong>shipped</strong> by sam",
                 "shipped → <strong>delivered</strong> by sam", "delivered → <strong>returned</strong> by maria",
                 "broken seal", "JJD01", "DHL"):
        assert step in body
    assert inventory.stock_summary(inventory.product_by_sku("TEA"))["on_hand"] == 10


def test_an_action_the_state_no_longer_allows_says_why(staff, confirmed):
    post_form(staff, f"/orders/{confirmed}/cancel", {"reason": "customer changed their mind"})
    again = post_form(staff, f"/orders/{confirmed}/cancel", {"reason": "again"})
    assert again.status_code == 409
    assert f"Order {confirmed} is cancelled; it cannot be cancelled." in again.get_data(as_text=True)


def test_an_unknown_order_is_a_404_page(staff):
    response = staff.get("/orders/SO-999999")
    assert response.status_code == 404 and "No order SO-999999." in response.get_data(as_text=True)
