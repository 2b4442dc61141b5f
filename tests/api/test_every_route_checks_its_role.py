"""Every API route, for every role: anonymous → 401, too low a role → 403, else allowed.

The routes come from the same registry that builds the Flask rules, so a new route is covered
the moment it exists.
"""
import re

import pytest

from appliance import accounts, inventory
from appliance.models import ROLES
from web.api import ROUTES

from .conftest import order_body


@pytest.fixture
def path_values(api, shop):
    number = api.post("staff", "/orders", json=order_body(("TEA", 1))).get_json()["number"]
    customer = api.post("staff", "/customers", json={"name": "Cy"}).get_json()["id"]
    stocktake = api.post("staff", "/stocktakes", json={"location": "floor"}).get_json()["id"]
    return {"sku": "TEA", "number": number, "customer_id": str(customer), "session_id": str(stocktake),
            "po_number": _purchase_order_number()}


def _purchase_order_number() -> str:
    from appliance import purchasing, suppliers
    supplier = suppliers.create_supplier({"name": "Leaf & Co"}, "test")
    (po,) = purchasing.create_from_suggestions([{"supplier_id": supplier.id, "product_id": inventory.product_by_sku("TEA").id,
                                                 "suggested_qty": 5, "unit_cost_cents": 100}], "test")
    return po.number


def _expected(role: str | None, needed: str | None) -> str:
    if needed is None:
        return "allowed"
    if role is None:
        return "401"
    return "allowed" if accounts.role_allows(role, needed) else "403"


@pytest.mark.parametrize("spec", ROUTES, ids=lambda s: f"{s.method} {s.path}")
def test_the_route_admits_exactly_its_roles(api, path_values, spec):
    path = re.sub(r"{(\w+)}", lambda m: path_values[m.group(1)], spec.path)
    outcomes = {}
    for role in (None, *ROLES):
        kwargs = {"json": {}} if spec.method in ("POST", "PUT", "PATCH") else {}
        status = api.request(spec.method, role, path, **kwargs).status_code
        outcomes[role] = str(status) if status in (401, 403) else "allowed"
    assert outcomes == {role: _expected(role, spec.role) for role in (None, *ROLES)}


def test_a_revoked_or_made_up_token_is_a_401(api, db):
    accounts.revoke_token("test-admin", "test")
    assert api.get("admin", "/orders").status_code == 401
    response = api.client.get("/api/v1/orders", headers={"Authorization": "Bearer sat_made-up"})
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"].startswith("Bearer")
    assert api.client.get("/api/v1/orders", headers={"Authorization": "Basic abc"}).status_code == 401
