"""Malformed JSON, wrong types, zero or negative quantities: a clear 4xx, nothing written."""
import pytest

from appliance.models import Order, StockMovement

from .conftest import order_body


@pytest.mark.parametrize("body, field", [
    (order_body(("TEA", 0)), "lines.0.qty"),
    (order_body(("TEA", -3)), "lines.0.qty"),
    ({"channel": "store", "lines": [{"sku": "TEA", "qty": "2"}]}, "lines.0.qty"),
    ({"channel": "store", "lines": [{"sku": "TEA", "qty": 1.5}]}, "lines.0.qty"),
    ({"channel": "store", "lines": [{"sku": "TEA", "qty": True}]}, "lines.0.qty"),
    ({"channel": "store", "lines": []}, "lines"),
    ({"channel": "fax", "lines": [{"sku": "TEA", "qty": 1}]}, "channel"),
    ({"channel": "store", "lines": [{"sku": "TEA", "qty": 1}], "colour": "red"}, "colour"),
    ({"channel": "store"}, "lines"),
])
def test_invalid_orders_are_a_422_naming_the_field(api, shop, body, field):
    response = api.post("staff", "/orders", json=body)
    assert response.status_code == 422
    assert field in [d["field"] for d in response.get_json()["details"]]
    assert Order.select().count() == 0


def test_malformed_json_is_a_400_and_writes_nothing(api, shop):
    ledger = StockMovement.select().count()
    response = api.post("staff", "/orders", data='{"channel": "store", "lines": [', content_type="application/json")
    assert response.status_code == 400
    assert "not valid JSON" in response.get_json()["error"]
    assert StockMovement.select().count() == ledger


def test_a_body_that_is_not_an_object_is_a_422(api, shop):
    response = api.post("staff", "/orders", json=[1, 2, 3])
    assert response.status_code == 422


def test_a_body_without_json_content_type_is_a_415(api, shop):
    response = api.post("staff", "/orders", data="channel=store", content_type="application/x-www-form-urlencoded")
    assert response.status_code == 415
    assert "Content-Type: application/json" in response.get_json()["error"]


def test_an_oversized_body_is_a_413(api, shop, settings):
    big = order_body(("TEA", 1), note="x" * (settings.server.max_request_bytes + 1))
    response = api.post("staff", "/orders", json=big)
    assert response.status_code == 413
    assert Order.select().count() == 0


def test_receiving_zero_or_negative_quantities_is_refused(api, shop):
    for qty in (0, -5):
        response = api.post("staff", "/stock/receive", json={"sku": "TEA", "qty": qty})
        assert response.status_code == 422
    assert api.get("staff", "/stock/TEA").get_json()["on_hand"] == 10


def test_an_unknown_location_is_a_404(api, shop):
    response = api.post("staff", "/stock/receive", json={"sku": "TEA", "qty": 1, "location": "attic"})
    assert response.status_code == 404
    assert "attic" in response.get_json()["error"]


def test_a_bad_cursor_or_filter_is_a_422(api, shop):
    assert api.get("staff", "/orders?cursor=garbage!").status_code == 422
    assert api.get("staff", "/orders?status=lost").status_code == 422
    assert api.get("staff", "/orders?from=yesterday").status_code == 422
    assert api.get("staff", "/orders?limit=100000").status_code == 422
