"""A sale the till kept while the box was away is sent with its Idempotency-Key to
POST /orders/new/sent-later (the signed-in user's session, its CSRF token in a header): sent any
number of times it is one order; if its stock is gone by then it waits `pending` with the reason and
the payment the till took, for a manager; a bad one is refused in the one JSON error shape. The
order-entry page and its assets are cacheable so the page itself opens while the box is away."""
from __future__ import annotations

import json

from appliance import inventory
from appliance.models import Order, Payment

from .web_helpers import csrf_of, post_form

KEY = "3f9a1c0d5e7b2a4c6d8e0f1a"


def sale(**changes) -> dict:
    return {"key": KEY, "channel": "store", "lines": [{"sku": "TEA", "qty": 2}], "customer_id": None, "note": "",
            "payments": [{"method": "cash", "amount_cents": 700, "tendered_cents": 1000}], **changes}


def send(client, body):
    return client.post("/orders/new/sent-later", json=body, headers={"X-CSRF-Token": csrf_of(client)})


def test_a_kept_sale_sent_twice_is_one_paid_order(staff, make_product):
    make_product("TEA", 350, stock=5)
    first, again = send(staff, sale()), send(staff, sale())
    assert first.status_code == 201 and again.status_code == 200
    assert again.json["replayed"] is True and again.json["number"] == first.json["number"]
    order = Order.get()
    assert Order.select().count() == 1
    assert order.status == "delivered"                       # paid at the till: handed over
    assert KEY in order.note and order.created_by == "sam"
    assert [(p.method, p.amount_cents) for p in Payment.select()] == [("cash", 700)]
    assert inventory.stock_summary(inventory.product_by_sku("TEA"))["on_hand"] == 3


def test_a_kept_sale_whose_stock_is_gone_waits_for_a_manager_with_the_reason(staff, manager, make_product):
    make_product("TEA", 350, stock=1)
    answer = send(staff, sale())
    assert answer.status_code == 201
    assert answer.json["status"] == "pending" and answer.json["unpaid"] is True
    order = Order.get()
    assert json.loads(order.pending_reasons) == [
        "sold at the till while the box was away: not enough stock (2 × TEA with 1 available)"]
    assert "paid there: cash 7.00" in order.note              # the money taken is not lost either
    assert Payment.select().count() == 0
    assert inventory.stock_summary(inventory.product_by_sku("TEA"))["reserved"] == 0
    page = manager.get(f"/orders/{order.number}").get_data(as_text=True)
    assert "not enough stock (2 × TEA with 1 available)" in page and "paid there: cash 7.00" in page
    assert send(staff, sale()).json["number"] == order.number  # sent again: still the one order


def test_the_same_key_from_another_user_is_another_users_sale(staff, manager, make_product):
    make_product("TEA", 350, stock=5)
    assert send(staff, sale()).status_code == 201
    assert send(manager, sale()).status_code == 201            # keys are scoped to the signed-in user
    assert Order.select().count() == 2


def test_it_refuses_a_kept_sale_that_is_not_valid_in_the_one_error_shape(staff, make_product):
    make_product("TEA", 350, stock=5)
    answer = send(staff, sale(key="short", lines=[]))
    assert answer.status_code == 422
    assert answer.json["error"] == "The sale the till kept is not valid."
    assert {d["field"] for d in answer.json["details"]} == {"key", "lines"}
    unknown = send(staff, sale(lines=[{"sku": "NOPE", "qty": 1}]))
    assert unknown.status_code == 404 and unknown.json["details"][0]["sku"] == "NOPE"
    assert send(staff, sale(lines=[{"sku": "TEA", "qty": 1.5}])).status_code == 422
    assert Order.select().count() == 0


def test_it_refuses_a_kept_sale_without_the_csrf_token(staff, make_product):
    make_product("TEA", 350, stock=5)
    assert staff.post("/orders/new/sent-later", json=sale()).status_code == 403
    assert Order.select().count() == 0


def test_the_till_page_and_its_assets_may_come_from_the_browser_cache(staff, make_product):
    make_product("TEA", 350, stock=5)
    make_product("OLD", 100, stock=5)
    inventory.update_product("OLD", {"active": False}, "test")
    page = staff.get("/orders/new")
    assert page.headers["Cache-Control"] == "private, max-age=43200"
    # The cookie is signed again on every answer: with `Vary: Cookie` the cached copy would never match.
    assert "Cookie" not in page.headers.get("Vary", "") and "Cookie" in staff.get("/orders").headers["Vary"]
    script = staff.get("/static/order-entry.js")
    assert "max-age=43200" in script.headers["Cache-Control"] and "no-cache" not in script.headers["Cache-Control"]
    assert "Cookie" not in script.headers.get("Vary", "")
    assert staff.get("/orders").headers["Cache-Control"] == "no-store"     # other pages are not kept
    catalog = staff.get("/orders/new/catalog")
    assert catalog.json["products"] == [{"sku": "TEA", "barcode": None, "name": "Product TEA", "price_cents": 350,
                                         "available": 5}]
    assert catalog.json["csrf_token"] == csrf_of(staff) and catalog.json["user"] == "sam"
    assert catalog.headers["Cache-Control"] == "no-store"


def test_a_till_page_carrying_a_message_is_not_kept(staff, make_product):
    make_product("TEA", 350, stock=5)
    with staff.session_transaction() as session:
        session["_flashes"] = [("info", "Signed in.")]
    assert staff.get("/orders/new").headers["Cache-Control"] == "no-store"


def test_a_form_whose_answer_was_lost_is_sent_again_under_its_own_key_and_arrives_once(staff, make_product):
    make_product("TEA", 350, stock=5)
    posted = post_form(staff, "/orders/new", {"form_key": KEY, "channel": "store", "line_sku": "TEA", "line_qty": "2",
                                              "note": " for Ana "})
    assert posted.status_code == 302                           # the box took it; the till never saw this
    again = send(staff, sale(via="form", note="for Ana", payments=None))
    assert again.status_code == 200 and again.json["replayed"] is True
    assert again.json["number"] == Order.get().number and Order.select().count() == 1
    lost = send(staff, sale(via="form", key="9" * 24, payments=None))   # a form the box never got
    assert lost.status_code == 201 and Order.select().count() == 2
    assert "the answer to its form was lost" in Order.get(Order.number == lost.json["number"]).note
