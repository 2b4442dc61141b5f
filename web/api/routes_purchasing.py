"""Purchase orders over the API: a warehouse system or a scanner app receives deliveries against them.

Receiving names the products by SKU (a client does not know line ids) and goes through
appliance.purchasing.receive, the one receiving path (the stock ledger's "receive" rows). Costs are
in answers to managers and admins only, as in the product answers (routes_catalog.sees_cost).
"""
from __future__ import annotations

from flask import jsonify, request
from pydantic import Field, StrictInt

from appliance import purchasing
from appliance.errors import Invalid
from appliance.limits import MAX_MOVE_QTY, MAX_ORDER_LINES
from appliance.models import utcnow

from . import actor, choice_query, route, sees_cost
from .schemas import NONBLANK, Body


class ReceivedLineIn(Body):
    sku: str = Field(min_length=1, max_length=64, pattern=NONBLANK)
    qty: StrictInt = Field(gt=0, le=MAX_MOVE_QTY)


class PurchaseReceiptIn(Body):
    lines: list[ReceivedLineIn] = Field(min_length=1, max_length=MAX_ORDER_LINES)
    location: str | None = Field(None, max_length=32)


def _iso(value) -> str | None:
    return value.isoformat() + "Z" if value else None


def purchase_order_json(po) -> dict:
    lines = purchasing.lines_of(po)
    data = {"number": po.number, "supplier": po.supplier.name, "status": po.status, "created_at": _iso(po.created_at),
            "sent_at": _iso(po.sent_at), "received_at": _iso(po.received_at), "cancelled_at": _iso(po.cancelled_at),
            "lines": [{"sku": line.product.sku, "name": line.product.name, "qty_ordered": line.qty_ordered,
                       "qty_received": line.qty_received, "outstanding": line.outstanding,
                       "unit_cost_cents": line.unit_cost_cents} for line in lines],
            "total_cents": purchasing.total_cents(lines)}
    if not sees_cost():
        data.pop("total_cents")
        for line in data["lines"]:
            line.pop("unit_cost_cents")
    return data


@route("GET", "/purchase-orders", role="staff", summary="Purchase orders, newest first (200 at most); costs for managers and admins only.",
       query={"status": choice_query("only purchase orders in this status", purchasing.STATUSES)}, answer="PurchaseOrders")
def list_purchase_orders():
    status = request.args.get("status")
    if status is not None and status not in purchasing.STATUSES:
        raise Invalid(f"Query parameter status must be one of {', '.join(purchasing.STATUSES)}.",
                      [{"field": "status", "message": "unknown value"}])
    return jsonify({"purchase_orders": [purchase_order_json(po) for po in purchasing.recent(status)]})


@route("GET", "/purchase-orders/{po_number}", role="staff", summary="One purchase order with its lines.", answer="PurchaseOrder")
def get_purchase_order(po_number: str):
    return jsonify(purchase_order_json(purchasing.by_number(po_number)))


@route("POST", "/purchase-orders/{po_number}/receive", role="staff", body=PurchaseReceiptIn, answer="PurchaseOrder",
       summary="Receive what arrived against a sent purchase order, in part or in full (stock ledger rows of kind receive).",
       responses={409: "the purchase order is not sent or partly received"})
def receive_purchase_order(po_number: str, body: PurchaseReceiptIn):
    po = purchasing.by_number(po_number)
    ordered = {line.product.sku: line for line in purchasing.lines_of(po)}
    quantities: dict[int, int] = {}
    for i, wanted in enumerate(body.lines):  # refused here to name the client's fields (lines[i])
        line = ordered.get(wanted.sku)
        if line is None:
            raise Invalid(f"{wanted.sku} is not on purchase order {po.number}.",
                          [{"field": f"lines[{i}].sku", "message": "not on this purchase order"}])
        if line.id in quantities:
            raise Invalid(f"{wanted.sku} is named twice.", [{"field": f"lines[{i}].sku", "message": "named twice"}])
        if po.status in purchasing.RECEIVABLE and wanted.qty > line.outstanding:
            raise Invalid(f"{wanted.sku}: {wanted.qty} is more than the {line.outstanding} still expected.",
                          [{"field": f"lines[{i}].qty", "message": f"at most {line.outstanding}"}])
        quantities[line.id] = wanted.qty
    purchasing.receive(po.id, quantities, actor(), utcnow(), body.location)
    return jsonify(purchase_order_json(purchasing.purchase_order(po.id)))
