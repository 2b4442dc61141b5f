"""Order entry on the server side: one rendered form is one order, however often it is posted;
refused orders come back with their lines; customers are picked or created inline."""
from __future__ import annotations

import re

from appliance import inventory
from appliance.models import Customer, Order

from .web_helpers import post_form


def form_key(client) -> str:
    body = client.get("/orders/new").get_data(as_text=True)
    return re.search(r'name="form_key" value="([^"]+)"', body).group(1)


def order_form(key: str, lines: dict[str, int], **extra) -> dict:
    return {"form_key": key, "channel": "store", "line_sku": list(lines), "line_qty": [str(q) for q in lines.values()],
            **extra}


def test_the_same_form_posted_three_times_is_one_order(staff, make_product):
    make_product("TEA", 350, stock=10)
    key = form_key(staff)
    answers = [post_form(staff, "/orders/new", order_form(key, {"TEA": 2})) for _ in range(3)]
    assert {a.headers["Location"] for a in answers} == {"/orders/SO-000001"}
    assert Order.select().count() == 1
    assert inventory.stock_summary(inventory.product_by_sku("TEA"))["reserved"] == 2


def test_two_forms_are_two_orders(staff, make_product):
    make_product("TEA", 350, stock=10)
    post_form(staff, "/orders/new", order_form(form_key(staff), {"TEA": 1}))
    post_form(staff, "/orders/new", order_form(form_key(staff), {"TEA": 1}))
    assert Order.select().count() == 2


def test_a_submitted_form_changed_and_sent_again_is_refused(staff, make_product):
    make_product("TEA", 350, stock=10)
    key = form_key(staff)
    post_form(staff, "/orders/new", order_form(key, {"TEA": 1}))
    again = post_form(staff, "/orders/new", order_form(key, {"TEA": 5}))
    assert again.status_code == 409
    assert "already submitted as order SO-000001" in again.get_data(as_text=True)
    assert Order.select().count() == 1


def test_short_stock_comes_back_with_the_lines_and_says_which(staff, make_product):
    make_product("TEA", 350, stock=10)
    make_product("MUG", 1200, stock=1)
    response = post_form(staff, "/orders/new", order_form(form_key(staff), {"TEA": 2, "MUG": 3}, note="gift wrap"))
    body = response.get_data(as_text=True)
    assert response.status_code == 409
    assert "Not enough stock for MUG." in body
    state = re.search(r'<script type="application/json" id="order-state">(.+?)</script>', body, re.S).group(1)
    assert '"sku": "TEA"' in state and '"qty": 3' in state and '"MUG": "Only 1 available."' in state
    assert 'value="gift wrap"' in body
    assert Order.select().count() == 0


def test_an_order_with_no_lines_is_refused_politely(staff):
    response = post_form(staff, "/orders/new", order_form(form_key(staff), {}))
    assert response.status_code == 422
    assert "Scan at least one product." in response.get_data(as_text=True)


def test_a_new_customer_typed_inline_is_created_with_the_order(staff, make_product):
    make_product("TEA", 350, stock=10)
    post_form(staff, "/orders/new", order_form(form_key(staff), {"TEA": 1}, new_customer_name="Ana Lima",
                                               new_customer_phone="+49 151 0001"))
    order = Order.get()
    assert order.customer.name == "Ana Lima" and order.customer.phone == "+491510001"


def test_a_customer_found_by_search_is_attached_by_id(staff, make_product):
    make_product("TEA", 350, stock=10)
    ana = Customer.create(name="Ana Lima", phone="5550101")
    found = staff.get("/api/v1/customers?q=0101").get_json()["customers"]
    assert [c["id"] for c in found] == [ana.id]
    post_form(staff, "/orders/new", order_form(form_key(staff), {"TEA": 1}, customer_id=str(ana.id)))
    assert Order.get().customer_id == ana.id


def test_the_scan_lookup_finds_barcodes_and_skus_with_what_can_be_sold(staff, make_product):
    make_product("TEA", 350, stock=10, barcode="4006381333931")
    by_barcode = staff.get("/orders/new/product?code=4006381333931").get_json()
    assert by_barcode == {"sku": "TEA", "name": "Product TEA", "price_cents": 350, "available": 10, "qty": 1}
    assert staff.get("/orders/new/product?code=TEA").get_json()["sku"] == "TEA"
    missing = staff.get("/orders/new/product?code=NOPE")
    assert missing.status_code == 404 and "NOPE" in missing.get_json()["error"]
