"""Clients retry through a failover: the same Idempotency-Key and body return the same order."""
from appliance.models import Order

from .conftest import order_body, stock


def test_the_same_key_and_body_return_the_same_order_once(api, shop):
    headers = {"Idempotency-Key": "till-1-0001"}
    first = api.post("staff", "/orders", json=order_body(("TEA", 2)), headers=headers)
    again = api.post("staff", "/orders", json=order_body(("TEA", 2)), headers=headers)
    assert first.status_code == again.status_code == 201
    assert first.get_json()["number"] == again.get_json()["number"]
    assert again.headers["Idempotent-Replayed"] == "true"
    assert "Idempotent-Replayed" not in first.headers
    assert Order.select().count() == 1
    assert stock(api, "TEA")["reserved"] == 2


def test_the_same_key_with_a_different_body_is_a_409(api, shop):
    headers = {"Idempotency-Key": "till-1-0002"}
    api.post("staff", "/orders", json=order_body(("TEA", 2)), headers=headers)
    response = api.post("staff", "/orders", json=order_body(("TEA", 3)), headers=headers)
    assert response.status_code == 409
    assert "different request" in response.get_json()["error"]
    assert Order.select().count() == 1


def test_key_order_of_the_json_body_does_not_matter(api, shop):
    headers = {"Idempotency-Key": "till-1-0003"}
    api.post("staff", "/orders", data='{"channel":"store","lines":[{"sku":"TEA","qty":1}]}',
             content_type="application/json", headers=headers)
    again = api.post("staff", "/orders", data='{"lines":[{"qty":1,"sku":"TEA"}],"channel":"store"}',
                     content_type="application/json", headers=headers)
    assert again.status_code == 201
    assert Order.select().count() == 1


def test_a_failed_order_does_not_use_up_its_key(api, shop):
    headers = {"Idempotency-Key": "till-1-0004"}
    assert api.post("staff", "/orders", json=order_body(("TEA", 50)), headers=headers).status_code == 409
    api.post("staff", "/stock/receive", json={"sku": "TEA", "qty": 50})
    assert api.post("staff", "/orders", json=order_body(("TEA", 50)), headers=headers).status_code == 201
