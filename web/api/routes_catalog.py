"""Products, locations and stock."""
from __future__ import annotations

from flask import jsonify, request

from appliance import inventory
from appliance.models import Location, Product

from . import actor, flag_arg, flag_query, int_arg, integer_query, route, sees_cost
from .schemas import AdjustIn, LocationIn, ProductIn, ProductPatch, ReceiveIn

COST_FIELDS = ("cost_cents",)  # left out for staff: cost is for managers, as in the reports


def product_json(product: Product) -> dict:
    data = inventory.product_dict(product)
    if not sees_cost():
        for name in COST_FIELDS:
            data.pop(name, None)
    return data


@route("GET", "/products", role="staff", summary="List products (filter by text; active only by default). "
                                                 "cost_cents only for managers and admins.",
       query={"q": ("text in SKU, barcode or name", {"type": "string"}),
              "include_inactive": flag_query("1 to include inactive products"),
              "cursor": integer_query("next_cursor of the previous page", 0, 2**62),
              "limit": integer_query("page size", 1, 500)}, answer="ProductPage")
def list_products():
    limit = int_arg("limit", 100, 1, 500)
    after = int_arg("cursor", 0, 0, 2**62)
    query = Product.select().where(Product.id > after).order_by(Product.id).limit(limit + 1)
    if not flag_arg("include_inactive"):
        query = query.where(Product.active)
    term = (request.args.get("q") or "").strip()
    if term:
        query = query.where(Product.sku.contains(term) | Product.name.contains(term) | (Product.barcode == term))
    rows = list(query)
    page = rows[:limit]
    return jsonify({"products": [product_json(p) for p in page],
                    "next_cursor": str(page[-1].id) if len(rows) > limit else None})


@route("POST", "/products", role="manager", summary="Create a product.", body=ProductIn,
       responses={201: "created", 409: "SKU or barcode already used"}, answer="Product")
def create_product(body: ProductIn):
    product = inventory.create_product(body.model_dump(), actor())
    return jsonify(product_json(product)), 201


@route("GET", "/products/{sku}", role="staff", summary="One product with its stock; cost_cents only for managers and admins.", answer="ProductWithStock")
def get_product(sku: str):
    product = inventory.product_by_sku(sku)
    return jsonify(product_json(product) | {"stock": inventory.stock_summary(product)})


@route("PATCH", "/products/{sku}", role="manager", summary="Change a product's name, price, barcode, reorder settings or active flag.",
       body=ProductPatch, responses={409: "barcode already used by another product"}, answer="Product")
def patch_product(sku: str, body: ProductPatch):
    product = inventory.update_product(sku, body.model_dump(exclude_unset=True), actor())
    return jsonify(product_json(product))


@route("GET", "/stock/{sku}", role="staff", summary="Stock of a product: on hand, reserved, available, per location.", answer="Stock")
def get_stock(sku: str):
    return jsonify(inventory.stock_summary(inventory.product_by_sku(sku)))


@route("POST", "/stock/receive", role="staff", summary="Book goods received into a location (default: the shop floor).",
       body=ReceiveIn, responses={409: "the level would hold more than its maximum"}, answer="Stock")
def receive_stock(body: ReceiveIn):
    return jsonify(inventory.receive(body.sku, body.qty, actor(), body.location, body.reference))


@route("POST", "/stock/adjust", role="manager", summary="Correct on-hand stock (damage, loss, found goods) with a reason.",
       body=AdjustIn, responses={409: "would take reserved stock, or hold more than the maximum"}, answer="Stock")
def adjust_stock(body: AdjustIn):
    return jsonify(inventory.adjust(body.sku, body.qty, actor(), body.reason, body.location))


@route("GET", "/locations", role="staff", summary="Stock locations in pick order.", answer="LocationList")
def list_locations():
    rows = Location.select().order_by(Location.pick_order, Location.code)
    return jsonify({"locations": [{"code": l.code, "name": l.name, "pick_order": l.pick_order, "active": l.active}
                                  for l in rows]})


@route("POST", "/locations", role="manager", summary="Create a stock location.", body=LocationIn,
       responses={201: "created", 409: "the code is taken"}, answer="Location")
def create_location(body: LocationIn):
    loc = inventory.create_location(body.code, body.name, body.pick_order, actor())
    return jsonify({"code": loc.code, "name": loc.name, "pick_order": loc.pick_order, "active": loc.active}), 201
