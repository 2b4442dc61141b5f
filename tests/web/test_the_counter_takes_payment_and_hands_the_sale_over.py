"""Counter order entry takes the payment with the order: cash with change, card, a split; a paid
counter sale ends at once as delivered (stock consumed). A wrong payment is said on its field and
nothing is saved."""
from __future__ import annotations

import re

from appliance import inventory
from appliance.models import Order, Payment

from .web_helpers import post_form


def form_key(client) -> str:
    body = client.get("/orders/new").get_data(as_text=True)
    return re.search(r'name="form_key" value="([^"]+)"', body).group(1)


def sale(key: str, lines: dict[str, int], payments: list[tuple[str, str, str]], **extra) -> dict:
    return {"form_key": key, "channel": "store", "line_sku": list(lines), "line_qty": [str(q) for q in lines.values()],
            "pay_method": [p[0] for p in payments], "pay_amount": [p[1] for p in payments],
            "pay_tendered": [p[2] for p in payments], **extra}


def field_error(body: str, name: str) -> str:
    """The error shown on the payment field of this name (pay_amount, pay_tendered) in the first row."""
    match = re.search(rf'name="{name}".*?data-error="\w+">([^<]*)<', body, re.S)
    return match.group(1) if match else ""


def test_a_cash_sale_shows_the_change_and_is_handed_over(staff, make_product):
    make_product("TEA", 350, stock=10)
    answer = post_form(staff, "/orders/new", sale(form_key(staff), {"TEA": 2}, [("cash", "7.00", "10")]))
    assert answer.status_code == 302 and answer.headers["Location"] == "/orders/SO-000001?sale=done"
    page = staff.get(answer.headers["Location"]).get_data(as_text=True)
    assert re.search(r'id="sale-change"[^>]*>3.00<', page)
    assert "is paid and handed over" in page
    order = Order.get()
    assert order.status == "delivered"
    assert [(p.method, p.amount_cents, p.tendered_cents, p.change_cents) for p in Payment.select()] == [("cash", 700, 1000, 300)]
    stock = inventory.stock_summary(inventory.product_by_sku("TEA"))
    assert (stock["on_hand"], stock["reserved"]) == (8, 0)


def test_a_split_between_card_and_cash_adds_up_to_the_total(staff, make_product):
    make_product("MUG", 1250, stock=5)
    answer = post_form(staff, "/orders/new", sale(form_key(staff), {"MUG": 2}, [("card", "20,00", ""), ("cash", "5", "")]))
    assert answer.status_code == 302
    assert Order.get().status == "delivered"
    assert [(p.method, p.amount_cents, p.tendered_cents) for p in Payment.select().order_by(Payment.id)] == [
        ("card", 2000, None), ("cash", 500, None)]


def test_cash_tendered_below_the_amount_is_said_on_the_field_and_nothing_is_saved(staff, make_product):
    make_product("TEA", 350, stock=10)
    answer = post_form(staff, "/orders/new", sale(form_key(staff), {"TEA": 2}, [("cash", "7.00", "5.00")]))
    body = answer.get_data(as_text=True)
    assert answer.status_code == 422
    assert field_error(body, "pay_tendered") == "Less than the amount: 2.00 more is needed."
    assert 'value="5.00"' in body  # what was typed comes back
    assert Order.select().count() == 0 and Payment.select().count() == 0


def test_an_amount_that_is_not_money_is_said_on_the_field(staff, make_product):
    make_product("TEA", 350, stock=10)
    answer = post_form(staff, "/orders/new", sale(form_key(staff), {"TEA": 1}, [("card", "three fifty", "")]))
    assert answer.status_code == 422
    assert field_error(answer.get_data(as_text=True), "pay_amount") == "Enter an amount like 12.50."
    assert Order.select().count() == 0


def test_a_split_that_does_not_add_up_is_refused_with_what_is_short(staff, make_product):
    make_product("TEA", 350, stock=10)
    answer = post_form(staff, "/orders/new", sale(form_key(staff), {"TEA": 2}, [("card", "3.00", ""), ("cash", "3.00", "")]))
    body = answer.get_data(as_text=True)
    assert answer.status_code == 422
    assert "The payments add up to 6.00; 7.00 is due (1.00 short)." in body
    assert Order.select().count() == 0


def test_a_card_payment_above_the_total_is_refused(staff, make_product):
    make_product("TEA", 350, stock=10)
    answer = post_form(staff, "/orders/new", sale(form_key(staff), {"TEA": 1}, [("card", "5.00", "")]))
    assert answer.status_code == 422
    assert field_error(answer.get_data(as_text=True), "pay_amount") == "A card payment cannot be more than the 3.50 due."
    assert Order.select().count() == 0


def test_an_unknown_method_is_refused(staff, make_product):
    make_product("TEA", 350, stock=10)
    answer = post_form(staff, "/orders/new", sale(form_key(staff), {"TEA": 1}, [("cheque", "3.50", "")]))
    assert answer.status_code == 422
    assert "Choose cash, card or other." in answer.get_data(as_text=True)
    assert Order.select().count() == 0


def test_a_paid_form_sent_twice_is_one_order_and_one_payment(staff, make_product):
    make_product("TEA", 350, stock=10)
    key = form_key(staff)
    for _ in range(2):
        assert post_form(staff, "/orders/new", sale(key, {"TEA": 1}, [("cash", "3.50", "5")])).status_code == 302
    assert Order.select().count() == 1 and Payment.select().count() == 1


def test_a_sale_that_needs_approval_is_kept_unpaid_rather_than_lost(staff, make_product):
    make_product("SAFE", 150_000, stock=2)
    answer = post_form(staff, "/orders/new", sale(form_key(staff), {"SAFE": 1}, [("card", "1500.00", "")]),
                       follow_redirects=True)
    body = answer.get_data(as_text=True)
    assert "no payment was taken" in body
    assert Order.get().status == "pending" and Payment.select().count() == 0


def test_an_order_without_payment_stays_confirmed_to_be_paid_later(staff, make_product):
    make_product("TEA", 350, stock=10)
    answer = post_form(staff, "/orders/new", sale(form_key(staff), {"TEA": 1}, [("cash", "", "")]))
    assert answer.headers["Location"] == "/orders/SO-000001"
    assert Order.get().status == "confirmed" and Payment.select().count() == 0
