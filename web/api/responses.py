"""JSON schemas of what the API answers (2xx), named in /api/v1/openapi.json's components.

Each names the fields every answer carries (`required`) with their types; an answer may carry more
(a later version adds fields without breaking a client), so objects stay open. Money is integer
cents, quantities integers, times ISO 8601 UTC ("…Z"), days ISO dates.
"""
from __future__ import annotations

from appliance.models import CHANNELS, ORDER_STATUSES, PAYMENT_METHODS
from appliance.purchasing import STATUSES as PURCHASE_ORDER_STATUSES

INT = {"type": "integer"}
NUM = {"type": "number"}
STR = {"type": "string"}
BOOL = {"type": "boolean"}
TIME = {"type": "string", "format": "date-time"}
DAY = {"type": "string", "format": "date"}


def maybe(schema: dict) -> dict:
    return {"anyOf": [schema, {"type": "null"}]}


def ref(name: str) -> dict:
    return {"$ref": f"#/components/schemas/{name}"}


def obj(fields: dict, optional: dict | None = None) -> dict:
    return {"type": "object", "required": list(fields), "properties": {**fields, **(optional or {})}}


def array(items: dict) -> dict:
    return {"type": "array", "items": items}


_PRODUCT = {"sku": STR, "name": STR, "price_cents": INT, "barcode": maybe(STR), "reorder_point": INT,
            "reorder_qty": INT, "active": BOOL}
_COST = {"cost_cents": {**INT, "description": "Purchase cost: in answers to managers and admins only."}}
_STOCK_AT = obj({"location": STR, "on_hand": INT, "reserved": INT, "available": INT})
_STOCK = obj({"sku": STR, "on_hand": INT, "reserved": INT, "available": INT, "locations": array(_STOCK_AT)})
_LOCATION = obj({"code": STR, "name": STR, "pick_order": INT, "active": BOOL})
_CUSTOMER = {"id": INT, "name": STR, "phone": maybe(STR), "email": maybe(STR)}
_CUSTOMER_FULL = _CUSTOMER | {"address": maybe(STR), "created_at": TIME}
_LINE = obj({"sku": STR, "name": STR, "qty": INT, "unit_price_cents": INT, "line_total_cents": INT})
_EVENT = obj({"from": maybe(STR), "to": STR, "actor": STR, "at": TIME, "note": maybe(STR)})
_PAYMENT = obj({"kind": {"type": "string", "enum": ["payment", "refund"]}, "method": {"type": "string", "enum": list(PAYMENT_METHODS)},
                "amount_cents": INT, "tendered_cents": maybe(INT), "change_cents": INT, "reason": maybe(STR),
                "actor": STR, "at": TIME})
_ORDER = obj({
    "number": STR, "status": {"type": "string", "enum": list(ORDER_STATUSES)},
    "channel": {"type": "string", "enum": list(CHANNELS)}, "customer": maybe(obj(_CUSTOMER)), "note": maybe(STR),
    "total_cents": INT, "paid_cents": INT, "due_cents": INT, "refunded_cents": INT, "change_cents": INT,
    "pending_reasons": array(STR), "carrier": maybe(STR), "tracking_number": maybe(STR), "created_by": STR,
    "epoch": maybe({**INT, "description": "The pair's epoch of the box that took the order (failover); null on a single box."}),
    "created_at": TIME, "confirmed_at": maybe(TIME), "shipped_at": maybe(TIME), "delivered_at": maybe(TIME),
    "cancelled_at": maybe(TIME), "returned_at": maybe(TIME), "overdue": BOOL, "lines": array(_LINE),
}, {"events": array(_EVENT), "payments": array(_PAYMENT)})
_PERIOD = {"from": DAY, "to": DAY, "timezone": STR}
_TAKINGS_ROW = {"method": STR, "payments": INT, "taken_cents": INT, "refunded_cents": INT, "net_cents": INT}
_SHIFT = obj({"id": INT, "opened_at": maybe(TIME), "closed_at": TIME, "closed_by": STR, "float_cents": INT,
              "counted_cash_cents": INT, "expected_cash_cents": INT, "difference_cents": INT, "note": maybe(STR),
              "takings": {"type": "object", "additionalProperties": INT}})

_PURCHASE_ORDER = obj(
    {"number": STR, "supplier": STR, "status": {"type": "string", "enum": list(PURCHASE_ORDER_STATUSES)},
     "created_at": TIME, "sent_at": maybe(TIME), "received_at": maybe(TIME), "cancelled_at": maybe(TIME),
     "lines": array(obj({"sku": STR, "name": STR, "qty_ordered": INT, "qty_received": INT, "outstanding": INT},
                        {"unit_cost_cents": {**INT, "description": "In answers to managers and admins only."}}))},
    {"total_cents": {**INT, "description": "In answers to managers and admins only."}})

SCHEMAS: dict[str, dict] = {
    "Product": obj(_PRODUCT, _COST),
    "ProductWithStock": obj(_PRODUCT | {"stock": _STOCK}, _COST),
    "ProductPage": obj({"products": array(obj(_PRODUCT, _COST)),
                        "next_cursor": maybe({"type": "string", "description": "Pass as cursor for the next page."})}),
    "Stock": _STOCK,
    "Location": _LOCATION,
    "LocationList": obj({"locations": array(_LOCATION)}),
    "Customer": obj(_CUSTOMER_FULL),
    "CustomerList": obj({"customers": array(obj(_CUSTOMER_FULL))}),
    "CustomerWithOrders": obj(_CUSTOMER_FULL | {"orders": array(_ORDER)}),
    "Order": _ORDER,
    "OrderPage": obj({"orders": array(_ORDER), "next_cursor": maybe(STR)}),
    "Stocktake": obj({"id": INT, "location": STR, "status": {"type": "string", "enum": ["open", "posted", "cancelled"]},
                      "created_by": STR, "created_at": TIME, "posted_by": maybe(STR), "posted_at": maybe(TIME),
                      "lines": array(obj({"sku": STR, "name": STR, "counted": INT, "on_hand": INT, "reserved": INT,
                                          "variance": INT}))}),
    "PurchaseOrder": _PURCHASE_ORDER,
    "PurchaseOrders": obj({"purchase_orders": array(_PURCHASE_ORDER)}),
    "Replenishment": obj({"suggestions": array(obj({"sku": STR, "name": STR, "available": INT, "reorder_point": INT,
                                                     "suggested_qty": INT}, {
        "per_day": NUM, "on_order": {**INT, "description": "Outstanding on open purchase orders."},
        "supplier": {**maybe(STR), "description": "The supplier to buy from (cheapest, then quickest); null: none carries it."},
        "supplier_id": maybe(INT), "product_id": INT, "lead_time_days": INT,
        "pack_qty": {**INT, "description": "The supplier's pack: suggested_qty is a whole number of packs."},
        "unit_cost_cents": {**INT, "description": "The supplier's cost (the product's cost without a supplier)."}}))}),
    "SalesReport": obj(_PERIOD | {
        "by_day": array(obj({"day": DAY, "orders": INT, "total_cents": INT})),
        "by_channel": array(obj({"channel": STR, "orders": INT, "total_cents": INT})),
        "by_product": array(obj({"sku": STR, "name": STR, "qty": INT, "total_cents": INT}))}),
    "ProcessingReport": obj(_PERIOD | {
        "processing_time": obj({"orders": INT, "mean_hours": maybe(NUM), "p50_hours": maybe(NUM), "p90_hours": maybe(NUM)}),
        "overdue": obj({"orders": INT, "overdue": INT, "rate": maybe(NUM)})}),
    "TakingsReport": obj(_PERIOD | {
        "by_day": array(obj(_TAKINGS_ROW | {"day": DAY})), "by_method": array(obj(_TAKINGS_ROW)),
        "total": obj({"taken_cents": INT, "refunded_cents": INT, "net_cents": INT})}),
    "Shift": _SHIFT,
    "ShiftList": obj({"shifts": array(_SHIFT)}),
    "OpenAPI": obj({"openapi": STR, "info": {"type": "object"}, "paths": {"type": "object"}}),
}
