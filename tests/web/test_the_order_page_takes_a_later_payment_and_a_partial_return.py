"""On the order page: staff takes the payment of a confirmed unpaid order; a manager takes back some
lines with a refund (amount and method) and a reason. Each wrong field is said where it was typed,
and nothing changes."""
from __future__ import annotations

import re

import pytest

from appliance import inventory, orders, payments
from appliance.models import Order, OrderEvent, Payment

from .web_helpers import post_form


@pytest.fixture
def unpaid(make_product, settings):
    make_product("TEA", 350, stock=10)
    order, _ = orders.create_order(settings, channel="store", lines=[orders.LineRequest("TEA", 2)], actor="sam")
    return order.number


@pytest.fixture
def sold(make_product, settings):
    make_product("TEA", 350, stock=10)
    make_product("MUG", 1200, stock=5)
    order, _ = orders.create_order(settings, channel="store", actor="sam",
                                   lines=[orders.LineRequest("TEA", 2), orders.LineRequest("MUG", 1)],
                                   paid_with=payments.parse([{"method": "card", "amount_cents": 1900}]))
    assert order.status == "delivered"
    return order.number


def pay(number: str, rows: list[tuple[str, str, str]], key: str = "k1") -> dict:
    return {"form_key": key, "pay_method": [r[0] for r in rows], "pay_amount": [r[1] for r in rows],
            "pay_tendered": [r[2] for r in rows]}


def on_hand(sku: str) -> int:
    return inventory.stock_summary(inventory.product_by_sku(sku))["on_hand"]


def test_a_confirmed_counter_order_paid_later_is_handed_over(staff, unpaid):
    page = staff.get(f"/orders/{unpaid}").get_data(as_text=True)
    assert 'id="pay-form"' in page and 'name="pay_amount" class="pay-amount" inputmode="decimal" autocomplete="off" value="7.00"' in page
    answer = post_form(staff, f"/orders/{unpaid}/pay", pay(unpaid, [("cash", "7.00", "20.00")]))
    assert answer.status_code == 302 and answer.headers["Location"] == f"/orders/{unpaid}?sale=done"
    after = staff.get(answer.headers["Location"]).get_data(as_text=True)
    assert re.search(r'id="sale-change"[^>]*>13.00<', after)
    assert Order.get().status == "delivered" and 'id="pay-form"' not in after
    assert post_form(staff, f"/orders/{unpaid}/pay", pay(unpaid, [("cash", "7.00", "20.00")])).status_code == 302
    assert Payment.select().count() == 1  # the same form again: not taken twice


def test_a_later_payment_that_falls_short_is_said_and_nothing_is_paid(staff, unpaid):
    answer = post_form(staff, f"/orders/{unpaid}/pay", pay(unpaid, [("card", "5.00", "")]))
    assert answer.status_code == 422
    assert "The payments add up to 5.00; 7.00 is due (2.00 short)." in answer.get_data(as_text=True)
    assert Payment.select().count() == 0 and Order.get().status == "confirmed"


def test_an_empty_later_payment_asks_for_the_amount(staff, unpaid):
    answer = post_form(staff, f"/orders/{unpaid}/pay", pay(unpaid, [("cash", "", "")]))
    assert answer.status_code == 422 and "Enter an amount like 12.50." in answer.get_data(as_text=True)


def test_a_paid_order_cannot_be_paid_again(staff, sold):
    answer = post_form(staff, f"/orders/{sold}/pay", pay(sold, [("cash", "1.00", "")]))
    assert answer.status_code == 409 and Payment.select().count() == 1
    assert f"Nothing is due on order {sold}: it is paid already." in answer.get_data(as_text=True)


def test_a_manager_takes_back_one_line_with_a_refund_and_a_reason(manager, sold):
    page = manager.get(f"/orders/{sold}").get_data(as_text=True)
    assert 'id="return-form"' in page
    answer = post_form(manager, f"/orders/{sold}/return", {
        "return_sku": ["TEA", "MUG"], "return_qty": ["1", "0"], "refund_amount": "3.50", "refund_method": "cash",
        "reason": "dented tin"})
    assert answer.status_code == 302
    assert on_hand("TEA") == 9 and on_hand("MUG") == 4
    refund = Payment.get(Payment.kind == "refund")
    assert (refund.method, refund.amount_cents, refund.reason) == ("cash", 350, "dented tin")
    assert Order.get().status == "delivered"  # the mug is still out
    assert "returned 1 × TEA; refunded cash 3.50: dented tin" in [e.note for e in OrderEvent.select()]


def test_a_refund_above_what_was_paid_is_refused_on_its_field(manager, sold):
    answer = post_form(manager, f"/orders/{sold}/return", {
        "return_sku": ["TEA", "MUG"], "return_qty": ["1", "0"], "refund_amount": "25.00", "reason": "changed mind"})
    body = answer.get_data(as_text=True)
    assert answer.status_code == 422
    assert "At most 19.00 can be refunded (paid, less refunds already given)." in body
    assert on_hand("TEA") == 8 and Payment.select().where(Payment.kind == "refund").count() == 0


def test_more_back_than_was_sold_is_said_on_the_line(manager, sold):
    answer = post_form(manager, f"/orders/{sold}/return", {
        "return_sku": ["TEA", "MUG"], "return_qty": ["3", "0"], "reason": "wrong"})
    assert answer.status_code == 422
    assert "at most 2 can come back" in answer.get_data(as_text=True)
    assert on_hand("TEA") == 8


@pytest.mark.parametrize("form,message", [
    ({"return_qty": ["1", "0"], "reason": ""}, "Say why it comes back"),
    ({"return_qty": ["0", "0"], "reason": "x"}, "Enter how many of at least one line come back."),
    ({"return_qty": ["one", "0"], "reason": "x"}, "Enter a whole number, 0 or more."),
    ({"return_qty": ["1", "0"], "reason": "x", "refund_amount": "1,2,3"}, "Enter an amount like 12.50"),
    ({"return_qty": ["1", "0"], "reason": "x", "refund_method": "bitcoin"}, "Choose cash, card or other."),
])
def test_a_return_form_with_a_mistake_says_which_field(manager, sold, form, message):
    answer = post_form(manager, f"/orders/{sold}/return", {"return_sku": ["TEA", "MUG"], **form})
    assert answer.status_code == 422 and message in answer.get_data(as_text=True)
    assert on_hand("TEA") == 8


def test_staff_may_not_take_back_a_sale(staff, sold):
    assert 'id="return-form"' not in staff.get(f"/orders/{sold}").get_data(as_text=True)
    answer = post_form(staff, f"/orders/{sold}/return", {"return_sku": ["TEA"], "return_qty": ["1"], "reason": "x"})
    assert answer.status_code == 403 and on_hand("TEA") == 8


def test_an_anonymous_visitor_cannot_pay(client_for, unpaid):
    answer = client_for(None).post(f"/orders/{unpaid}/pay", data=pay(unpaid, [("cash", "7.00", "")]))
    assert answer.status_code in (302, 403) and Payment.select().count() == 0
