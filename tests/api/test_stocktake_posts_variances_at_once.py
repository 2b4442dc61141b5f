"""A stocktake counts one location, shows variances, and posts them as adjustments in one go."""
from appliance import inventory
from appliance.models import StockMovement

from .conftest import order_body, stock


def _open(api, location="floor"):
    response = api.post("staff", "/stocktakes", json={"location": location})
    assert response.status_code == 201
    return response.get_json()["id"]


def test_counts_show_variances_and_posting_adjusts_stock(api, shop):
    take = _open(api)
    api.put("staff", f"/stocktakes/{take}/counts", json={"sku": "TEA", "counted": 7})
    api.put("staff", f"/stocktakes/{take}/counts", json={"sku": "MUG", "counted": 4})
    lines = api.put("staff", f"/stocktakes/{take}/counts", json={"sku": "TEA", "counted": 8}).get_json()["lines"]
    assert {l["sku"]: (l["on_hand"], l["counted"], l["variance"]) for l in lines} == {"TEA": (10, 8, -2), "MUG": (3, 4, 1)}
    assert api.post("staff", f"/stocktakes/{take}/post").status_code == 403
    assert api.post("manager", f"/stocktakes/{take}/post").get_json()["status"] == "posted"
    assert stock(api, "TEA")["on_hand"] == 8
    assert stock(api, "MUG")["on_hand"] == 9  # 4 on the floor + 5 in the warehouse
    assert StockMovement.select().where(StockMovement.kind == "stocktake").count() == 2
    assert inventory.ledger_mismatches() == []


def test_a_count_below_reserved_stock_is_refused_and_nothing_posts(api, shop):
    api.post("staff", "/orders", json=order_body(("HONEY", 2)))
    take = _open(api)
    api.put("staff", f"/stocktakes/{take}/counts", json={"sku": "TEA", "counted": 1})
    api.put("staff", f"/stocktakes/{take}/counts", json={"sku": "HONEY", "counted": 1})
    response = api.post("manager", f"/stocktakes/{take}/post")
    assert response.status_code == 409
    assert response.get_json()["details"] == [{"sku": "HONEY", "counted": 1, "reserved": 2}]
    assert stock(api, "TEA")["on_hand"] == 10
    assert api.get("staff", f"/stocktakes/{take}").get_json()["status"] == "open"


def test_one_open_stocktake_per_location(api, shop):
    take = _open(api)
    assert api.post("staff", "/stocktakes", json={"location": "floor"}).status_code == 409
    api.post("manager", f"/stocktakes/{take}/cancel")
    assert api.put("staff", f"/stocktakes/{take}/counts", json={"sku": "TEA", "counted": 1}).status_code == 409
    _open(api)


def test_a_count_by_barcode_is_accepted(api, shop):
    api.patch("manager", "/products/TEA", json={"barcode": "4006381333931"})
    take = _open(api)
    lines = api.put("staff", f"/stocktakes/{take}/counts", json={"sku": "4006381333931", "counted": 10}).get_json()["lines"]
    assert lines[0]["sku"] == "TEA" and lines[0]["variance"] == 0
