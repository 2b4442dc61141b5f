"""Every form POST needs the session's CSRF token; the JSON API checks the same token for page scripts."""
from __future__ import annotations

import pytest

from appliance import inventory
from appliance.models import Order

from .web_helpers import csrf_of, post_form

FORM_POSTS = ["/stock/receive", "/orders/new", "/customers", "/account/password", "/logout", "/stocktake",
              "/admin/users", "/admin/tokens"]


@pytest.mark.parametrize("path", FORM_POSTS)
def test_a_post_without_the_token_is_a_403_page(admin, path):
    response = admin.post(path, data={"code": "TEA", "qty": "5", "name": "x"})
    assert response.status_code == 403
    assert "did not come from this site" in response.get_data(as_text=True)


def test_a_wrong_token_changes_nothing(staff, make_product):
    make_product("TEA", stock=10)
    response = staff.post("/stock/receive", data={"csrf_token": "forged", "code": "TEA", "qty": "5"})
    assert response.status_code == 403
    assert inventory.stock_summary(inventory.product_by_sku("TEA"))["on_hand"] == 10
    assert post_form(staff, "/stock/receive", {"code": "TEA", "qty": "5"}).status_code == 302
    assert inventory.stock_summary(inventory.product_by_sku("TEA"))["on_hand"] == 15


def test_sign_in_itself_needs_the_token(client_for, users):
    client = client_for(None)
    client.get("/login")  # hands out the token with the form
    refused = client.post("/login", data={"username": "sam", "password": "counter-pass-123"})
    assert refused.status_code == 403
    accepted = post_form(client, "/login", {"username": "sam", "password": "counter-pass-123"})
    assert accepted.status_code == 302


def test_the_api_takes_the_same_token_from_page_scripts(staff, make_product):
    make_product("TEA", stock=10)
    body = {"channel": "store", "lines": [{"sku": "TEA", "qty": 1}]}
    assert staff.post("/api/v1/orders", json=body).status_code == 403
    created = staff.post("/api/v1/orders", json=body, headers={"X-CSRF-Token": csrf_of(staff)})
    assert created.status_code == 201
    assert Order.select().count() == 1
