"""A product's purchase cost is for managers and admins, as in the reports: staff get every product
answer without `cost_cents`; managers and admins get it."""
from __future__ import annotations

import pytest

from appliance import inventory


def fields_named(value, name: str) -> list:
    """Every value of a field called `name`, however deep in the answer."""
    if isinstance(value, dict):
        return [v for k, v in value.items() if k == name] + [x for v in value.values() for x in fields_named(v, name)]
    if isinstance(value, list):
        return [x for v in value for x in fields_named(v, name)]
    return []


@pytest.fixture
def costly(shop):
    inventory.update_product("TEA", {"cost_cents": 120}, "test")
    return "TEA"


READS = ["/products", "/products?include_inactive=1&q=TEA", "/products/TEA", "/stock/TEA"]


@pytest.mark.parametrize("path", READS)
def test_staff_see_no_cost_in_product_and_stock_answers(api, costly, path):
    response = api.get("staff", path)

    assert response.status_code == 200
    assert fields_named(response.get_json(), "cost_cents") == []
    assert fields_named(response.get_json(), "price_cents") or path.startswith("/stock")


@pytest.mark.parametrize("role", ["manager", "admin"])
def test_managers_and_admins_see_the_cost(api, costly, role):
    listed = api.get(role, "/products?q=TEA").get_json()["products"]
    one = api.get(role, "/products/TEA").get_json()

    assert [p["cost_cents"] for p in listed if p["sku"] == "TEA"] == [120]
    assert one["cost_cents"] == 120


def test_a_manager_who_creates_or_changes_a_product_gets_its_cost_back(api, shop):
    created = api.post("manager", "/products", json={"sku": "JAM", "name": "Jam", "price_cents": 450,
                                                     "cost_cents": 200})
    changed = api.patch("manager", "/products/JAM", json={"cost_cents": 210})

    assert (created.status_code, created.get_json()["cost_cents"]) == (201, 200)
    assert (changed.status_code, changed.get_json()["cost_cents"]) == (200, 210)
    assert "cost_cents" not in api.get("staff", "/products/JAM").get_json()


def test_the_api_document_says_cost_is_for_managers(api, db):
    doc = api.get(None, "/openapi.json").get_json()

    assert "cost_cents" in doc["info"]["description"] and "managers" in doc["info"]["description"]
    assert "cost_cents only for managers" in doc["paths"]["/api/v1/products"]["get"]["summary"]
