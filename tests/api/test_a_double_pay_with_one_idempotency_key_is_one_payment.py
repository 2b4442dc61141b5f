"""Paying again with the same Idempotency-Key (a retry after a lost answer, a double tap) makes no
second payment: the answer is the first one's, change included; the same key with other payments is
a 409; an order created with payments and a key is one order with one payment."""
from datetime import timedelta

from appliance import clock, orders
from appliance.models import Order, Payment

from .conftest import order_body

CASH = {"payments": [{"method": "cash", "amount_cents": 850, "tendered_cents": 1000}]}


def test_the_same_key_twice_is_one_payment_with_the_same_answer(api, shop):
    number = api.post("staff", "/orders", json=order_body(("MUG", 1), channel="phone")).get_json()["number"]
    first = api.post("staff", f"/orders/{number}/pay", json=CASH, headers={"Idempotency-Key": "till-1-pay-7"})
    again = api.post("staff", f"/orders/{number}/pay", json=CASH, headers={"Idempotency-Key": "till-1-pay-7"})
    assert first.status_code == again.status_code == 200, again.get_json()
    assert again.headers.get("Idempotent-Replayed") == "true" and "Idempotent-Replayed" not in first.headers
    for response in (first, again):
        assert (response.get_json()["paid_cents"], response.get_json()["change_cents"]) == (850, 150)
    assert Payment.select().count() == 1

    other = api.post("staff", f"/orders/{number}/pay", json={"payments": [{"method": "card", "amount_cents": 850}]},
                     headers={"Idempotency-Key": "till-1-pay-7"})
    assert other.status_code == 409 and set(other.get_json()) == {"error", "details"}
    assert Payment.select().count() == 1


def test_an_order_sent_twice_with_its_payments_is_one_order_paid_once(api, shop):
    body = order_body(("TEA", 2), payments=[{"method": "cash", "amount_cents": 700, "tendered_cents": 1000}])
    first = api.post("staff", "/orders", json=body, headers={"Idempotency-Key": "till-1-sale-9"})
    again = api.post("staff", "/orders", json=body, headers={"Idempotency-Key": "till-1-sale-9"})
    assert first.status_code == again.status_code == 201
    assert first.get_json()["number"] == again.get_json()["number"]
    assert again.get_json()["status"] == "delivered" and again.get_json()["paid_cents"] == 700
    assert Order.select().count() == 1 and Payment.select().count() == 1


def test_payment_keys_are_forgotten_with_the_order_keys(api, shop, settings):
    number = api.post("staff", "/orders", json=order_body(("MUG", 1), channel="phone")).get_json()["number"]
    api.post("staff", f"/orders/{number}/pay", json=CASH, headers={"Idempotency-Key": "till-1-pay-8"})
    with clock.shifted_to(clock.utcnow() + timedelta(days=settings.orders.idempotency_key_days + 1)):
        orders.forget_old_idempotency_keys(settings)
    assert [(p.idempotency_key, p.request_hash) for p in Payment.select()] == [(None, None)]
