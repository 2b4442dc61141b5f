"""A delivery is received over the API against a sent purchase order, naming its products by SKU: the
stock ledger gets "receive" rows with the order's number, the order becomes partly received; a SKU not
on the order, more than a line expects, or a draft is refused in the one error shape; staff see the
order without its costs."""
from __future__ import annotations

import pytest

from appliance import inventory, purchasing, suppliers
from appliance.models import StockMovement, utcnow


@pytest.fixture
def sent(api, shop):
    supplier = suppliers.create_supplier({"name": "Leaf & Co", "lead_time_days": 3}, "test")
    tea = inventory.product_by_sku("TEA")
    (po,) = purchasing.create_from_suggestions([{"supplier_id": supplier.id, "product_id": tea.id,
                                                 "suggested_qty": 10, "unit_cost_cents": 120}], "maria")
    return po


def test_a_delivery_is_received_by_sku_and_bad_lines_are_refused(api, sent):
    path = f"/purchase-orders/{sent.number}/receive"
    draft = api.post("staff", path, json={"lines": [{"sku": "TEA", "qty": 4}]})
    assert draft.status_code == 409 and draft.get_json()["error"] == f"Purchase order {sent.number} is draft; it cannot be received."
    purchasing.mark_sent(sent.id, "maria", utcnow())
    before = inventory.stock_summary(inventory.product_by_sku("TEA"))["on_hand"]
    answer = api.post("staff", path, json={"lines": [{"sku": "TEA", "qty": 4}], "location": "floor"})
    assert answer.status_code == 200
    body = answer.get_json()
    assert (body["status"], body["lines"][0]["qty_received"], body["lines"][0]["outstanding"]) == ("partly_received", 4, 6)
    assert "unit_cost_cents" not in body["lines"][0] and "total_cents" not in body  # staff: no costs
    assert inventory.stock_summary(inventory.product_by_sku("TEA"))["on_hand"] == before + 4
    (row,) = StockMovement.select().where(StockMovement.reference == sent.number)
    assert (row.kind, row.on_hand_delta) == ("receive", 4)
    for lines, field in (([{"sku": "MUG", "qty": 1}], "lines[0].sku"), ([{"sku": "TEA", "qty": 7}], "lines[0].qty"),
                         ([{"sku": "TEA", "qty": 1}, {"sku": "TEA", "qty": 1}], "lines[1].sku")):
        refused = api.post("staff", path, json={"lines": lines})
        assert refused.status_code == 422 and refused.get_json()["details"][0]["field"] == field
    assert api.get("manager", f"/purchase-orders/{sent.number}").get_json()["total_cents"] == 1200
    assert api.get("staff", "/purchase-orders/PO-999999").status_code == 404
    listed = api.get("manager", "/purchase-orders?status=partly_received").get_json()["purchase_orders"]
    assert [po["number"] for po in listed] == [sent.number]
    assert api.get("staff", "/purchase-orders?status=lost").status_code == 422
