"""Customers: search by name or phone, create, and a detail page with the purchase history."""
from __future__ import annotations

from appliance import orders
from appliance.models import Customer

from .web_helpers import post_form


def test_search_by_phone_and_see_the_history(staff, make_product, settings):
    make_product("TEA", 350, stock=10)
    ana = Customer.create(name="Ana Lima", phone="5550101")
    Customer.create(name="Bo Berg", phone="5550202")
    order, _ = orders.create_order(settings, channel="phone", lines=[orders.LineRequest("TEA", 2)], actor="sam",
                                   customer=ana.id)
    found = staff.get("/customers?q=0101").get_data(as_text=True)
    assert "Ana Lima" in found and "Bo Berg" not in found
    detail = " ".join(staff.get(f"/customers/{ana.id}").get_data(as_text=True).split())
    assert order.number in detail and "2 × Product TEA" in detail and "7.00 in 1 order(s)" in detail


def test_creating_a_customer_opens_their_page(staff):
    response = post_form(staff, "/customers", {"name": "Cy Dahl", "phone": "555 0303"})
    assert response.status_code == 302
    assert "Cy Dahl" in staff.get(response.headers["Location"]).get_data(as_text=True)
