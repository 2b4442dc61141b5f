"""A refused form comes back with the error next to the field and everything that was typed."""
from __future__ import annotations

import re

from .web_helpers import post_form


def error_next_to(body: str, field: str) -> str:
    """The error message rendered right after the field's input (the macro's layout)."""
    match = re.search(rf'id="{field}"[^>]*>\s*<span class="field-error" id="{field}-error">([^<]+)</span>', body)
    assert match, f"no error next to {field}"
    return match.group(1)


def test_new_customer_with_a_bad_email_keeps_name_and_phone(staff):
    response = post_form(staff, "/customers", {"name": "Ana Lima", "phone": "555 0101", "email": "not-an-email"})
    body = response.get_data(as_text=True)
    assert response.status_code == 422
    assert error_next_to(body, "email") == "not an e-mail address"
    assert 'value="Ana Lima"' in body and 'value="555 0101"' in body and 'value="not-an-email"' in body


def test_new_user_with_a_short_password_keeps_the_username_not_the_password(admin):
    response = post_form(admin, "/admin/users", {"username": "newbie", "role": "manager", "password": "short",
                                                 "repeat_password": "short"})
    body = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "at least 10 characters" in error_next_to(body, "password")
    assert 'value="newbie"' in body
    assert '<option value="manager" selected>' in body
    assert 'value="short"' not in body


def test_receiving_an_unknown_code_keeps_quantity_and_reference(staff, make_product):
    response = post_form(staff, "/stock/receive", {"code": "NOPE", "qty": "12", "reference": "DN-77"})
    body = response.get_data(as_text=True)
    assert response.status_code == 422
    assert error_next_to(body, "receive-code") == "No product with SKU or barcode NOPE."
    assert 'value="12"' in body and 'value="DN-77"' in body
    assert '<details class="card" id="receive" open>' in body


def test_receiving_a_bad_quantity_says_so_next_to_it(staff, make_product):
    make_product("TEA")
    body = post_form(staff, "/stock/receive", {"code": "TEA", "qty": "many"}).get_data(as_text=True)
    assert error_next_to(body, "receive-qty") == "Enter a whole number."
    assert 'value="TEA"' in body


def test_shipping_without_a_carrier_keeps_the_tracking_number(staff, make_product, settings):
    from appliance import orders
    make_product("TEA", stock=5)
    order, _ = orders.create_order(settings, channel="web", lines=[orders.LineRequest("TEA", 1)], actor="sam")
    response = post_form(staff, f"/orders/{order.number}/ship", {"carrier": "", "tracking_number": "JJD0001"})
    body = response.get_data(as_text=True)
    assert response.status_code == 422
    assert error_next_to(body, "carrier") == "Which carrier takes the parcel?"
    assert 'value="JJD0001"' in body
    assert orders.get_order(order.number).status == "confirmed"


def test_a_wrong_current_password_is_marked_on_that_field(staff):
    response = post_form(staff, "/account/password", {"current_password": "nope-nope-nope",
                                                      "new_password": "a-new-pass-456", "repeat_password": "a-new-pass-456"})
    assert response.status_code == 422
    assert error_next_to(response.get_data(as_text=True), "current_password").startswith("wrong")
