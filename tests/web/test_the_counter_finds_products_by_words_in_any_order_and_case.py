"""The counter's product search (/orders/new/search), on SQLite and PostgreSQL: every typed word must be
in the name, SKU or barcode, in any order and any case; codes typed in lower case are found by the search
and by the scan lookup; results are bounded, only products for sale, and one SQL statement. (Who may
search: the role table in test_every_page_checks_its_role.py.)"""
from __future__ import annotations

from playhouse.test_utils import count_queries

from appliance import inventory, product_search

from tests.conftest import on_both_engines

database_url = on_both_engines()


def _skus(client, query: str, **params) -> list[str]:
    response = client.get("/orders/new/search", query_string={"q": query, **params})
    assert response.status_code == 200
    return [p["sku"] for p in response.get_json()["products"]]


def test_words_in_any_order_and_case_find_the_product_and_lower_case_codes_add_it(staff, make_product):
    make_product("OAT-1L", 199, stock=7, barcode="7310865004703", name="Oat Milk 1L")
    make_product("MILK-1L", 129, stock=3, name="Whole Milk 1L")
    make_product("OATS", 349, stock=0, name="Rolled Oats 50%_off")
    make_product("GONE", 100, stock=5, name="Oat Milk Old")
    inventory.update_product("GONE", {"active": False}, "test")

    assert _skus(staff, "milk oat") == ["OAT-1L"]                # words in any order
    assert _skus(staff, "OAT") == ["OAT-1L", "OATS"]             # any case; names starting with it first
    assert _skus(staff, "  mIlK ") == ["OAT-1L", "MILK-1L"]       # by name; never an inactive product
    assert _skus(staff, "oat-1l") == ["OAT-1L"]                  # a SKU in lower case
    assert _skus(staff, "04703") == ["OAT-1L"]                   # part of a barcode
    assert _skus(staff, "50%_") == ["OATS"]                      # LIKE wildcards are plain characters
    assert _skus(staff, "%") == ["OATS"] and _skus(staff, "") == []
    assert _skus(staff, "1l milk", limit="1") == ["OAT-1L"]       # bounded by the asked limit
    found = staff.get("/orders/new/search?q=oat+milk").get_json()["products"]
    assert found == [{"sku": "OAT-1L", "barcode": "7310865004703", "name": "Oat Milk 1L", "price_cents": 199,
                      "available": 7}]

    for code in ("oat-1l", "7310865004703"):                      # the scan lookup takes lower case too
        looked_up = staff.get("/orders/new/product", query_string={"code": code})
        assert looked_up.status_code == 200 and looked_up.get_json()["sku"] == "OAT-1L"
    assert staff.get("/orders/new/product?code=gone").status_code == 404


def test_results_are_bounded_and_take_one_statement(staff, make_product):
    for i in range(25):
        make_product(f"TEA-{i:02}", 300, stock=0, name=f"Tea number {i:02}")
    assert len(_skus(staff, "tea")) == 8                          # the default
    assert len(_skus(staff, "tea", limit="500")) == product_search.MAX_RESULTS
    assert len(_skus(staff, "tea", limit="x")) == 8
    assert _skus(staff, "tea-07") == ["TEA-07"]

    with count_queries() as counter:
        assert len(product_search.search_products("NUMBER tea", limit=20)) == 20
    assert counter.count == 1
    with count_queries() as counter:                              # the request: the signed-in user, the search
        assert len(_skus(staff, "number TEA", limit="20")) == 20
    assert counter.count == 2

