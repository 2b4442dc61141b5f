"""Products, per-location stock, receiving and adjustments."""
from appliance.models import StockMovement

from .conftest import order_body, stock


def test_a_product_is_created_and_read_back(api, db):
    body = {"sku": "A1", "name": "Tea", "price_cents": 350, "barcode": "4001", "reorder_point": 3}
    assert api.post("manager", "/products", json=body).status_code == 201
    product = api.get("staff", "/products/A1").get_json()
    assert (product["name"], product["price_cents"], product["barcode"]) == ("Tea", 350, "4001")
    assert product["stock"]["available"] == 0


def test_a_second_product_with_the_same_sku_or_barcode_is_a_409(api, db):
    api.post("manager", "/products", json={"sku": "A1", "name": "Tea", "price_cents": 350, "barcode": "4001"})
    assert api.post("manager", "/products", json={"sku": "A1", "name": "Other", "price_cents": 1}).status_code == 409
    again = api.post("manager", "/products", json={"sku": "A2", "name": "Other", "price_cents": 1, "barcode": "4001"})
    assert again.status_code == 409


def test_money_must_be_whole_cents(api, db):
    response = api.post("manager", "/products", json={"sku": "A1", "name": "Tea", "price_cents": 3.5})
    assert response.status_code == 422
    assert response.get_json()["details"][0]["field"] == "price_cents"


def test_stock_shows_each_location(api, shop):
    assert stock(api, "MUG") == {"sku": "MUG", "on_hand": 8, "reserved": 0, "available": 8, "locations": [
        {"location": "floor", "on_hand": 3, "reserved": 0, "available": 3},
        {"location": "warehouse", "on_hand": 5, "reserved": 0, "available": 5}]}


def test_an_adjustment_needs_a_manager_and_a_reason(api, shop):
    body = {"sku": "TEA", "qty": -2, "reason": "damaged"}
    assert api.post("staff", "/stock/adjust", json=body).status_code == 403
    assert api.post("manager", "/stock/adjust", json={"sku": "TEA", "qty": -2, "reason": ""}).status_code == 422
    assert api.post("manager", "/stock/adjust", json=body).get_json()["on_hand"] == 8
    movement = StockMovement.select().order_by(StockMovement.id.desc()).get()
    assert (movement.kind, movement.on_hand_delta, movement.reference, movement.actor) == (
        "adjust", -2, "damaged", "token:test-manager")


def test_an_adjustment_cannot_take_reserved_stock(api, shop):
    api.post("staff", "/orders", json=order_body(("HONEY", 2)))
    response = api.post("manager", "/stock/adjust", json={"sku": "HONEY", "qty": -1, "reason": "broken"})
    assert response.status_code == 409
    assert stock(api, "HONEY") | {"locations": None} == {
        "sku": "HONEY", "on_hand": 2, "reserved": 2, "available": 0, "locations": None}


def test_products_page_through_with_a_search(api, shop):
    page = api.get("staff", "/products?limit=2").get_json()
    rest = api.get("staff", f"/products?limit=2&cursor={page['next_cursor']}").get_json()
    assert [p["sku"] for p in page["products"] + rest["products"]] == ["TEA", "MUG", "HONEY"]
    assert [p["sku"] for p in api.get("staff", "/products?q=hon").get_json()["products"]] == ["HONEY"]


def test_replenishment_suggests_low_stock_products(api, shop):
    suggestions = api.get("manager", "/replenishment").get_json()["suggestions"]
    assert [(s["sku"], s["available"]) for s in suggestions] == [("HONEY", 2)]
    assert suggestions[0]["suggested_qty"] >= 12
    assert api.get("staff", "/replenishment").status_code == 403
