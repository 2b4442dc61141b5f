"""Creating an order: lines + reservations in one transaction, or nothing at all."""
from appliance.models import Order, StockMovement

from .conftest import order_body, stock


def test_a_confirmed_order_reserves_its_stock(api, shop):
    response = api.post("staff", "/orders", json=order_body(("TEA", 2), ("MUG", 1)))
    assert response.status_code == 201
    order = response.get_json()
    assert order["status"] == "confirmed"
    assert order["number"].startswith("SO-")
    assert order["total_cents"] == 2 * 350 + 850
    assert response.headers["Location"] == f"/api/v1/orders/{order['number']}"
    assert stock(api, "TEA") | {"locations": None} == {"sku": "TEA", "on_hand": 10, "reserved": 2, "available": 8, "locations": None}


def test_a_line_takes_stock_from_the_floor_first_then_the_warehouse(api, shop):
    assert api.post("staff", "/orders", json=order_body(("MUG", 5))).status_code == 201
    by_location = {loc["location"]: loc for loc in stock(api, "MUG")["locations"]}
    assert by_location["floor"]["reserved"] == 3
    assert by_location["warehouse"]["reserved"] == 2


def test_it_names_every_line_that_lacks_stock_and_writes_nothing(api, shop):
    ledger_before = StockMovement.select().count()
    response = api.post("staff", "/orders", json=order_body(("TEA", 1), ("MUG", 9), ("HONEY", 3)))
    assert response.status_code == 409
    body = response.get_json()
    assert {d["sku"]: (d["requested"], d["available"]) for d in body["details"]} == {"MUG": (9, 8), "HONEY": (3, 2)}
    assert "MUG" in body["error"] and "HONEY" in body["error"]
    assert Order.select().count() == 0
    assert StockMovement.select().count() == ledger_before
    assert stock(api, "TEA")["reserved"] == 0


def test_unknown_skus_are_a_404_naming_the_line(api, shop):
    """As wherever a SKU is named (receive, adjust, count): a product that does not exist is not found."""
    response = api.post("staff", "/orders", json=order_body(("TEA", 1), ("NOPE", 1)))
    assert response.status_code == 404
    assert response.get_json()["details"] == [{"field": "lines[1].sku", "sku": "NOPE", "message": "unknown SKU"}]
    assert Order.select().count() == 0


def test_the_same_sku_twice_becomes_one_line(api, shop):
    response = api.post("staff", "/orders", json=order_body(("TEA", 1), ("TEA", 2)))
    assert response.status_code == 201
    assert [(l["sku"], l["qty"]) for l in response.get_json()["lines"]] == [("TEA", 3)]


def test_an_inactive_product_cannot_be_ordered(api, shop):
    assert api.patch("manager", "/products/TEA", json={"active": False}).status_code == 200
    response = api.post("staff", "/orders", json=order_body(("TEA", 1)))
    assert response.status_code == 409
    assert response.get_json()["details"][0]["message"] == "product is not for sale"


def test_a_customer_given_by_contact_data_is_found_again_by_phone(api, shop):
    first = api.post("staff", "/orders", json=order_body(("TEA", 1), channel="phone",
                                                          customer={"name": "Ada", "phone": "+49 151 1"})).get_json()
    second = api.post("staff", "/orders", json=order_body(("TEA", 1), channel="phone",
                                                           customer={"name": "Ada L.", "phone": "+491511"})).get_json()
    assert first["customer"]["id"] == second["customer"]["id"]
    history = api.get("staff", f"/customers/{first['customer']['id']}").get_json()["orders"]
    assert [o["number"] for o in history] == [second["number"], first["number"]]
