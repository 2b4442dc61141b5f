"""Every money and quantity field has a documented maximum (appliance/limits.py, docs/api.md):
a price of 2^63-1 is refused, and an order for the most of one product at the highest price, and
the sales report over it, work on both engines (totals are 64-bit)."""
from appliance import inventory
from appliance.limits import MAX_LINE_QTY, MAX_MOVE_QTY, MAX_ON_HAND, MAX_PRICE_CENTS

from .conftest import order_body


def test_a_price_of_2_63_minus_1_is_refused(api, db):
    response = api.post("manager", "/products", json={"sku": "GOLD", "name": "Gold", "price_cents": 2**63 - 1})
    assert response.status_code == 422
    assert response.get_json()["details"][0]["field"] == "price_cents"
    response = api.post("manager", "/products", json={"sku": "GOLD", "name": "Gold", "price_cents": MAX_PRICE_CENTS + 1})
    assert response.status_code == 422


def test_the_most_of_one_product_at_the_highest_price_is_an_order_and_a_report(api, db):
    assert api.post("manager", "/products", json={"sku": "GOLD", "name": "Gold", "price_cents": MAX_PRICE_CENTS,
                                                  "cost_cents": MAX_PRICE_CENTS}).status_code == 201
    assert api.post("staff", "/stock/receive", json={"sku": "GOLD", "qty": MAX_LINE_QTY}).status_code == 200
    response = api.post("staff", "/orders", json=order_body(("GOLD", MAX_LINE_QTY), channel="api"))
    assert response.status_code in (201,), response.get_json()
    total = MAX_LINE_QTY * MAX_PRICE_CENTS
    assert response.get_json()["total_cents"] == total
    number = response.get_json()["number"]
    if response.get_json()["status"] == "pending":  # the approval rule holds an order this large
        assert api.post("manager", f"/orders/{number}/approve", json={}).status_code == 200
    report = api.get("manager", "/reports/sales")
    assert report.status_code == 200, report.get_json()
    assert sum(day["total_cents"] for day in report.get_json()["by_day"]) == total
    assert report.get_json()["by_product"][0]["total_cents"] == total


def test_more_than_the_maximum_of_one_product_on_an_order_is_a_422(api, db):
    inventory.create_product({"sku": "TEA", "name": "Tea", "price_cents": 350}, "test")
    twice = {"channel": "store", "lines": [{"sku": "TEA", "qty": MAX_LINE_QTY}, {"sku": "TEA", "qty": 1}]}
    response = api.post("staff", "/orders", json=twice)
    assert response.status_code == 422
    assert "at most" in response.get_json()["error"]


def test_a_stock_level_holds_at_most_the_maximum(api, db):
    inventory.create_product({"sku": "TEA", "name": "Tea", "price_cents": 350}, "test")
    for _ in range(MAX_ON_HAND // MAX_MOVE_QTY):
        assert api.post("staff", "/stock/receive", json={"sku": "TEA", "qty": MAX_MOVE_QTY}).status_code == 200
    response = api.post("staff", "/stock/receive", json={"sku": "TEA", "qty": 1})
    assert response.status_code == 409
    assert str(MAX_ON_HAND) in response.get_json()["error"]
    assert api.get("staff", "/stock/TEA").get_json()["on_hand"] == MAX_ON_HAND
