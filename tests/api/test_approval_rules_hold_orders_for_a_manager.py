"""Approval rules put an order in `pending`; a manager approves (stock reserved) or rejects."""
import pytest

from appliance import orders
from appliance.models import Customer, Order, OrderLine, Product, utcnow

from .conftest import order_body, stock

pytestmark = pytest.mark.calendar


@pytest.fixture
def low_limit(settings):
    settings.approval.max_amount_cents = 1000
    return settings


def test_an_order_above_the_limit_waits_without_reserving(api, shop, low_limit):
    response = api.post("staff", "/orders", json=order_body(("MUG", 2)))
    order = response.get_json()
    assert (response.status_code, order["status"]) == (201, "pending")
    assert "approval limit" in order["pending_reasons"][0]
    assert stock(api, "MUG")["reserved"] == 0


def test_a_manager_approves_and_the_stock_is_reserved_then(api, shop, low_limit):
    number = api.post("staff", "/orders", json=order_body(("MUG", 2))).get_json()["number"]
    assert api.post("staff", f"/orders/{number}/approve", json={}).status_code == 403
    response = api.post("manager", f"/orders/{number}/approve", json={"note": "known customer"})
    assert response.get_json()["status"] == "confirmed"
    assert stock(api, "MUG")["reserved"] == 2


def test_approval_fails_with_409_when_the_stock_went_meanwhile(api, shop, low_limit):
    number = api.post("staff", "/orders", json=order_body(("HONEY", 2))).get_json()["number"]
    low_limit.approval.max_amount_cents = 0
    assert api.post("staff", "/orders", json=order_body(("HONEY", 2))).get_json()["status"] == "confirmed"
    response = api.post("manager", f"/orders/{number}/approve", json={})
    assert response.status_code == 409
    assert api.get("staff", f"/orders/{number}").get_json()["status"] == "pending"


def test_only_a_manager_may_reject_a_pending_order(api, shop, low_limit):
    number = api.post("staff", "/orders", json=order_body(("MUG", 2))).get_json()["number"]
    assert api.post("staff", f"/orders/{number}/cancel", json={}).status_code == 403
    assert api.post("manager", f"/orders/{number}/cancel", json={"note": "rejected"}).get_json()["status"] == "cancelled"


def test_a_first_order_of_a_new_customer_above_its_limit_waits(api, shop, settings):
    settings.approval.first_order_amount_cents = 500
    body = order_body(("TEA", 2), channel="phone", customer={"name": "New", "phone": "+1555"})
    first = api.post("staff", "/orders", json=body).get_json()
    assert first["status"] == "pending"
    assert "first order" in first["pending_reasons"][0]
    api.post("manager", f"/orders/{first['number']}/approve", json={})
    assert api.post("staff", "/orders", json=body).get_json()["status"] == "confirmed"


def test_a_quantity_far_above_the_usual_waits(api, shop, settings):
    settings.approval.quantity_factor = 3
    settings.approval.quantity_min_history = 3
    tea = Product.get(Product.sku == "TEA")
    for i in range(3):  # history: TEA usually sold one at a time
        order = Order.create(number=f"H{i}", channel="store", status="delivered", total_cents=350,
                             created_by="test", created_at=utcnow())
        OrderLine.create(order=order, product=tea, qty=1, unit_price_cents=350, line_total_cents=350)
    orders.refresh_usual_quantities(settings)  # the scheduler's hourly job
    assert api.post("staff", "/orders", json=order_body(("TEA", 3))).get_json()["status"] == "confirmed"
    pending = api.post("staff", "/orders", json=order_body(("TEA", 4))).get_json()
    assert pending["status"] == "pending"
    assert "usual" in pending["pending_reasons"][0]
    assert Customer.select().count() == 0
