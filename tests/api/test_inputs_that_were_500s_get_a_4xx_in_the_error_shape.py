"""Inputs a client can send that the server once answered with a 500 (issue 14): each is now a 4xx
in the one error shape, and nothing is written."""
from appliance.models import Order, Product

from .conftest import order_body

BEYOND_64_BITS = 2**64 + 1


def assert_error(response, status: int) -> dict:
    assert response.status_code == status, response.get_data(as_text=True)
    body = response.get_json()
    assert set(body) == {"error", "details"} and isinstance(body["details"], list)
    assert body["error"].endswith((".", ")")), body
    return body


def test_an_explicit_null_in_a_product_patch_is_a_422_naming_the_field(api, shop):
    body = assert_error(api.patch("manager", "/products/TEA", json={"price_cents": None}), 422)
    assert body["details"][0]["field"] == "price_cents"
    assert Product.get(Product.sku == "TEA").price_cents == 350


def test_a_null_barcode_still_removes_the_barcode(api, shop):
    api.patch("manager", "/products/TEA", json={"barcode": "4001"})
    response = api.patch("manager", "/products/TEA", json={"barcode": None})
    assert response.status_code == 200 and response.get_json()["barcode"] is None


def test_a_price_beyond_64_bits_is_a_422(api, shop):
    body = assert_error(api.post("manager", "/products", json={"sku": "BIG", "name": "Big", "price_cents": BEYOND_64_BITS}), 422)
    assert body["details"][0]["field"] == "price_cents"
    assert not Product.select().where(Product.sku == "BIG").exists()


def test_a_customer_id_beyond_64_bits_in_an_order_is_a_422(api, shop):
    for customer in (BEYOND_64_BITS, {"id": BEYOND_64_BITS}):
        assert_error(api.post("staff", "/orders", json=order_body(("TEA", 1), customer=customer)), 422)
    assert Order.select().count() == 0


def test_a_path_id_beyond_64_bits_is_a_404(api, db):
    assert_error(api.get("staff", f"/customers/{BEYOND_64_BITS}"), 404)
    assert_error(api.get("staff", f"/stocktakes/{BEYOND_64_BITS}"), 404)


def test_a_path_id_of_non_ascii_digits_is_a_404(api, db):
    assert_error(api.get("staff", "/customers/²"), 404)
    assert_error(api.get("staff", "/customers/٣"), 404)
    assert_error(api.patch("staff", "/customers/²", json={"name": "X"}), 404)
    assert_error(api.get("staff", "/stocktakes/²"), 404)


def test_a_date_filter_with_an_extreme_offset_is_a_422(api, db):
    for value in ("0001-01-01T00:00+14:00", "9999-12-31T23:59-14:00"):
        body = assert_error(api.get("staff", "/orders", query_string={"from": value}), 422)
        assert body["details"][0]["field"] == "from"


def test_a_deeply_nested_body_is_a_400(api, shop):
    deep = '{"channel":"store","lines":[{"sku":"TEA","qty":1}],"note":' + "[" * 100_000 + "]" * 100_000 + "}"
    assert_error(api.post("staff", "/orders", data=deep, content_type="application/json"), 400)
    fairly_deep = '{"channel":"store","lines":[{"sku":"TEA","qty":1}],"note":' + "[" * 500 + "]" * 500 + "}"
    assert_error(api.post("staff", "/orders", data=fairly_deep, content_type="application/json"), 400)
    assert Order.select().count() == 0


def test_a_cursor_of_non_ascii_digits_is_a_422(api, db):
    assert_error(api.get("staff", "/products", query_string={"cursor": "²"}), 422)
    assert_error(api.get("staff", "/orders", query_string={"cursor": "bzrCsg"}), 422)  # base64 of "o:²"


def test_a_blank_barcode_on_two_products_is_no_barcode_not_a_clash(api, shop):
    for sku in ("TEA", "MUG"):
        response = api.patch("manager", f"/products/{sku}", json={"barcode": ""})
        assert response.status_code == 200 and response.get_json()["barcode"] is None
