"""A SKU is one URL path segment: new SKUs with "/" are refused with a clear error (API and imports
alike); products made before the rule keep their SKU and stay reachable at /products/<sku>."""
import pytest

from appliance import inventory
from appliance.errors import Invalid
from appliance.models import Product


def test_a_new_sku_with_a_slash_is_refused(api, db):
    response = api.post("manager", "/products", json={"sku": "A/B", "name": "Ab", "price_cents": 100})
    assert response.status_code == 422
    assert response.get_json()["details"][0]["field"] == "sku"
    with pytest.raises(Invalid, match="no '/'"):
        inventory.create_product({"sku": "A/B", "name": "Ab", "price_cents": 100}, "import")
    assert not Product.select().exists()


def test_an_older_sku_with_a_slash_is_reachable(api, db):
    Product.create(sku="BOX/12", name="Box of 12", price_cents=1200)  # made before the rule
    assert api.get("staff", "/products/BOX/12").get_json()["sku"] == "BOX/12"
    assert api.patch("manager", "/products/BOX/12", json={"price_cents": 1300}).get_json()["price_cents"] == 1300
    assert api.post("staff", "/stock/receive", json={"sku": "BOX/12", "qty": 2}).status_code == 200
    assert api.get("staff", "/stock/BOX/12").get_json()["on_hand"] == 2
    assert api.get("staff", "/products/BOX/13").status_code == 404
