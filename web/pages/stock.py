"""Stock: on hand / reserved / available per location, low stock, replenishment, receiving, adjustments."""
from __future__ import annotations

from flask import Blueprint, flash, g, redirect, render_template, request, url_for

from appliance import inventory, replenishment
from appliance.errors import AppError
from appliance.models import Location, Product, StockLevel

from web.exports import FORMATS, Column, download

from . import settings
from .forms import FormError, field_errors, whole_number
from .security import can, requires

blueprint = Blueprint("stock", __name__)

PAGE_SIZE = 50


STOCK_COLUMNS = [Column("sku", "SKU"), Column("barcode", "Barcode"), Column("name", "Product"),
                 Column("on_hand", "On hand", "int"), Column("reserved", "Reserved", "int"),
                 Column("available", "Available", "int"), Column("reorder_point", "Reorder point", "int"),
                 Column("low_text", "Low")]


@blueprint.get("/stock")
@requires("staff")
def stock_page():
    fmt = request.args.get("format")
    if fmt in FORMATS:  # the whole list as filtered on the page, every page of it
        rows = _stock_rows((request.args.get("q") or "").strip(), request.args.get("low") == "1", page=None)
        return download([r | {"low_text": "yes" if r["low"] else ""} for r in rows], STOCK_COLUMNS, fmt, "stock")
    return _render()


def _render(receive_form=None, receive_errors=None, adjust_form=None, adjust_errors=None, status: int = 200):
    term = (request.args.get("q") or "").strip()
    low_only = request.args.get("low") == "1"
    raw_page = request.args.get("page", "1")
    page = max(1, int(raw_page)) if raw_page.isdigit() else 1
    rows = _stock_rows(term, low_only, page)
    return render_template(
        "stock.html", rows=rows[:PAGE_SIZE], term=term, low_only=low_only, page=page,
        more=len(rows) > PAGE_SIZE, locations=_locations(),
        suggestions=replenishment.suggestions(settings()) if can("manager") else None,
        receive_form=receive_form or {}, receive_errors=receive_errors or {},
        adjust_form=adjust_form or {}, adjust_errors=adjust_errors or {}), status


def _locations() -> list[Location]:
    return list(Location.select().where(Location.active).order_by(Location.pick_order, Location.code))


def _stock_rows(term: str, low_only: bool, page: int | None) -> list[dict]:
    """One row per product with its levels per location; one query for products, one for levels.
    `page` None: every row (a download)."""
    query = Product.select().where(Product.active).order_by(Product.sku)
    if term:
        query = query.where(Product.sku.contains(term) | Product.name.contains(term) | (Product.barcode == term))
    if not low_only and page is not None:
        query = query.offset((page - 1) * PAGE_SIZE).limit(PAGE_SIZE + 1)
    products = list(query)
    levels: dict[int, list[StockLevel]] = {}
    for level in (StockLevel.select(StockLevel, Location).join(Location)
                  .where(StockLevel.product.in_([p.id for p in products]))
                  .order_by(Location.pick_order, Location.code)):
        levels.setdefault(level.product_id, []).append(level)
    rows = []
    for product in products:
        mine = levels.get(product.id, [])
        on_hand = sum(lv.on_hand for lv in mine)
        reserved = sum(lv.reserved for lv in mine)
        available = on_hand - reserved
        row = {"sku": product.sku, "barcode": product.barcode, "name": product.name, "on_hand": on_hand,
               "reserved": reserved, "available": available, "reorder_point": product.reorder_point,
               "low": available <= product.reorder_point,
               "locations": [{"code": lv.location.code, "on_hand": lv.on_hand, "reserved": lv.reserved,
                              "available": lv.on_hand - lv.reserved} for lv in mine]}
        if row["low"] or not low_only:
            rows.append(row)
    if low_only and page is not None:  # filtered in Python (low depends on sums), so page here
        rows = rows[(page - 1) * PAGE_SIZE:page * PAGE_SIZE + 1]
    return rows


@blueprint.post("/stock/receive")
@requires("staff")
def receive():
    form = request.form
    try:
        qty = whole_number("qty", low=1, high=1_000_000)
        product = _product(form.get("code", ""))
        inventory.receive(product.sku, qty, g.user.username, form.get("location") or None,
                          (form.get("reference") or "").strip() or None)
    except FormError as e:
        return _render(receive_form=form, receive_errors={e.field: e.message}, status=422)
    except AppError as e:
        return _render(receive_form=form, receive_errors=field_errors(e), status=e.status)
    flash(f"Received {qty} × {product.sku} ({product.name}).", "success")
    return redirect(url_for(".stock_page", q=product.sku))


@blueprint.post("/stock/adjust")
@requires("manager")
def adjust():
    form = request.form
    reason = (form.get("reason") or "").strip()
    try:
        delta = whole_number("delta", low=-1_000_000, high=1_000_000)
        if delta == 0:
            raise FormError("delta", "An adjustment must change the quantity.")
        if not reason:
            raise FormError("reason", "Say why (damaged, lost, found…).")
        product = _product(form.get("code", ""))
        inventory.adjust(product.sku, delta, g.user.username, reason, form.get("location") or None)
    except FormError as e:
        return _render(adjust_form=form, adjust_errors={e.field: e.message}, status=422)
    except AppError as e:
        return _render(adjust_form=form, adjust_errors=field_errors(e, {"qty": "delta"}), status=e.status)
    flash(f"Adjusted {product.sku} by {delta:+d}.", "success")
    return redirect(url_for(".stock_page", q=product.sku))


def _product(code: str) -> Product:
    code = code.strip()
    if not code:
        raise FormError("code", "Scan or type a SKU or barcode.")
    product = inventory.product_by_code(code)
    if product is None:
        raise FormError("code", f"No product with SKU or barcode {code}.")
    return product

