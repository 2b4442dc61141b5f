"""Products for managers: a list to search and filter, forms to create and edit, the price history.

Every change goes through appliance.inventory (create_product / update_product), which judges the
values and writes the audit trail; the product's category goes through appliance.categories (audited
too), in the same transaction. The product page reads its price and cost history back from the trail.
Money is typed as people type it (12.50, 12,50 or 12) and kept in integer cents. SKUs are one path
segment (appliance.inventory refuses '/'); a product made before that rule is edited by import or API.
"""
from __future__ import annotations

import json

from flask import Blueprint, abort, flash, g, redirect, render_template, request, url_for
from peewee import JOIN

from appliance import categories, inventory, reports
from appliance.db import write_transaction
from appliance.errors import AppError
from appliance.models import AuditEvent, Product
from web.exports import FORMATS, Column, download

from . import settings, when
from .forms import FORM, FormError, field_errors, whole_number
from .payment_forms import money_cents, money_text
from .reports import report_days
from .security import requires

blueprint = Blueprint("products", __name__)

PAGE_SIZE = 50
MAX_PAGE = 100_000  # beyond any shop's catalogue; keeps the offset a small number on every engine
ACTIVE_FILTERS = {"active": "Active only", "inactive": "Inactive only", "all": "All"}
LIST_COLUMNS = [Column("sku", "SKU"), Column("name", "Name"), Column("barcode", "Barcode"), Column("category", "Category"),
                Column("price_cents", "Price", "money"), Column("cost_cents", "Cost", "money"),
                Column("reorder_point", "Reorder point", "int"), Column("reorder_qty", "Reorder quantity", "int"),
                Column("active", "Active")]
HISTORY_COLUMNS = [Column("at", "When"), Column("location", "Location"), Column("kind", "Movement"),
                   Column("on_hand_delta", "On hand change", "int"), Column("reserved_delta", "Reserved change", "int"),
                   Column("on_hand", "On hand after", "int"), Column("order", "Order"), Column("reference", "Reference"),
                   Column("actor", "By")]
HISTORY_DAYS = 30
FIELDS = ("sku", "name", "barcode", "price", "cost", "category", "reorder_point", "reorder_qty", "active")


@blueprint.get("/products")
@requires("manager")
def product_list():
    term = _text_arg("q")
    shown = request.args.get("active", "active")
    if shown not in ACTIVE_FILTERS:
        shown = "active"
    raw_page = request.args.get("page", "1")
    page = min(max(1, int(raw_page)), MAX_PAGE) if raw_page.isascii() and raw_page.isdigit() else 1
    pc, cat = categories.ProductCategory, categories.Category
    query = (Product.select(Product, cat.name.alias("category_name"))
             .join(pc, JOIN.LEFT_OUTER, on=(pc.product == Product.id)).join(cat, JOIN.LEFT_OUTER, on=(pc.category == cat.id))
             .order_by(Product.sku))
    if shown != "all":
        query = query.where(Product.active == (shown == "active"))
    if term:
        query = query.where(Product.sku.contains(term) | Product.name.contains(term) | (Product.barcode == term))
    category = _text_arg("category")
    if category:
        query = query.where(cat.name == category)
    fmt = request.args.get("format")
    rows = list(query.objects() if fmt in FORMATS else query.offset((page - 1) * PAGE_SIZE).limit(PAGE_SIZE + 1).objects())
    if fmt in FORMATS:  # the whole list as filtered, not one page of it
        return download([{"sku": p.sku, "name": p.name, "barcode": p.barcode, "category": p.category_name,
                          "price_cents": p.price_cents, "cost_cents": p.cost_cents, "reorder_point": p.reorder_point,
                          "reorder_qty": p.reorder_qty, "active": "yes" if p.active else "no"} for p in rows],
                        LIST_COLUMNS, fmt, "products")
    return render_template("products/list.html", products=rows[:PAGE_SIZE], more=len(rows) > PAGE_SIZE,
                           term=term, shown=shown, filters=ACTIVE_FILTERS, page=page, category=category,
                           category_names=categories.names())


@blueprint.get("/products/categories")
@requires("manager")
def category_list():
    return _categories_page({}, {})


@blueprint.post("/products/categories/<int:category_id>")
@requires("manager")
def rename_category(category_id: int):
    try:
        category = categories.rename(category_id, request.form.get("name", ""), g.user.username)
    except AppError as e:
        errors = field_errors(e)
        return _categories_page({category_id: request.form.get("name", "")}, {category_id: errors}, e.status)
    flash(f"Renamed the category to {category.name}.", "success")
    return redirect(url_for(".category_list"))


def _categories_page(typed: dict, errors: dict, status: int = 200):
    return render_template("products/categories.html", rows=categories.with_counts(), typed=typed,
                           errors=errors), status


@blueprint.get("/products/new")
@requires("manager")
def new_product():
    return render_template("products/form.html", product=None, form={"active": "1"}, errors={}, history=[],
                           category_names=categories.names())


@blueprint.post("/products/new")
@requires("manager")
def create_product():
    try:
        data = _read_form(new=True)
        with write_transaction():  # the product and its category, or neither
            product = inventory.create_product(data, g.user.username)
            categories.set_category(product, request.form.get("category"), g.user.username)
    except FormError as e:
        return _form_again(None, {e.field: e.message})
    except AppError as e:
        return _form_again(None, _errors_of(e), e.status)
    flash(f"Created {product.sku} ({product.name}).", "success")
    return redirect(url_for(".edit_product", sku=product.sku))


@blueprint.get("/products/<sku>")
@requires("manager")
def edit_product(sku: str):
    product = _product(sku)
    return render_template("products/form.html", product=product, form=_form_of(product), errors={},
                           history=price_history(product.sku), category_names=categories.names())


@blueprint.post("/products/<sku>")
@requires("manager")
def update_product(sku: str):
    product = _product(sku)
    try:
        changes = _read_form(new=False)
        with write_transaction():  # the fields and the category, or neither
            _still_as_shown(product)
            inventory.update_product(product.sku, changes, g.user.username)
            categories.set_category(product, request.form.get("category"), g.user.username)
    except FormError as e:
        return _form_again(product, {e.field: e.message}, 409 if e.field == FORM else 422)
    except AppError as e:
        return _form_again(product, _errors_of(e), e.status)
    flash(f"Saved {product.sku}.", "success")
    return redirect(url_for(".edit_product", sku=product.sku))


@blueprint.get("/products/<sku>/stock-history")
@requires("manager")
def stock_history(sku: str):
    """The product's stock ledger for a range of the shop's days (default: the last 30), on the page or
    downloaded as CSV or XLSX."""
    product = _product(sku)
    zone = reports.shop_zone(settings())
    first, last, errors = report_days(zone, HISTORY_DAYS)
    if errors:
        return render_template("products/stock_history.html", product=product, rows=[], errors=errors,
                               first=request.args.get("from", ""), last=request.args.get("to", "")), 422
    period = reports.period_of_days(first, last, zone)
    rows = reports.stock_history(product.id, period.start, period.stop)
    fmt = request.args.get("format")
    if fmt in FORMATS:
        shown = [row | {"at": when(row["at"])} for row in rows]
        return download(shown, HISTORY_COLUMNS, fmt, f"stock-history-{product.sku}-{first.isoformat()}-to-{last.isoformat()}")
    return render_template("products/stock_history.html", product=product, rows=rows, errors={},
                           first=first.isoformat(), last=last.isoformat())


def _still_as_shown(product: Product) -> None:
    """Refuses a save over a change someone made after this form was opened (its `version`); called
    with the write lock held, so nobody changes the product between this check and the save."""
    shown = request.form.get("version")
    current = Product.get_by_id(product.id).updated_at.isoformat()
    if shown and shown != current:
        raise FormError(FORM, "Someone changed this product after you opened it: nothing was saved. "
                              "Check its values below (the history shows the change) and save again.")


def _text_arg(name: str) -> str:
    """A query parameter as text a database takes (PostgreSQL refuses NUL in text)."""
    return (request.args.get(name) or "").replace("\x00", "").strip()


def _product(sku: str) -> Product:
    product = None if "\x00" in sku else Product.get_or_none(Product.sku == sku)
    if product is None:
        abort(404)
    return product


def _form_again(product: Product | None, errors: dict, status: int = 422):
    errors.setdefault(FORM, "Nothing was saved: correct the fields marked below.")
    if product is not None:
        product = Product.get_by_id(product.id)  # as it is now: the next save is over what is shown
    return render_template("products/form.html", product=product, form=request.form, errors=errors,
                           history=price_history(product.sku) if product else [],
                           category_names=categories.names()), status


def _errors_of(error: AppError) -> dict:
    """The domain's refusal on the form's fields (price_cents → price; a conflict names its field)."""
    errors = field_errors(error, {"price_cents": "price", "cost_cents": "cost"})
    for detail in error.details:
        if isinstance(detail, dict) and "field" not in detail:
            for key in detail:
                if key in FIELDS:
                    errors[key] = error.message
    return errors


def _money(name: str, required: bool) -> int | None:
    raw = (request.form.get(name) or "").strip()
    if not raw:
        if required:
            raise FormError(name, "Required.")
        return None
    cents = money_cents(raw)
    if cents is None:
        raise FormError(name, "Enter an amount like 12.50.")
    return cents


def _text(name: str, longest: int, required: bool = False) -> str | None:
    """A text field as the database can keep it: trimmed, within its column's length, without NUL."""
    value = (request.form.get(name) or "").strip()
    if not value:
        if required:
            raise FormError(name, "Required.")
        return None
    if "\x00" in value:
        raise FormError(name, "Remove the NUL character: text cannot hold it.")
    if len(value) > longest:
        raise FormError(name, f"At most {longest} characters.")
    return value


def _read_form(new: bool) -> dict:
    data: dict = {}
    if new:
        data["sku"] = _text("sku", 64, required=True)
    data["name"] = _text("name", 200, required=True)
    data["barcode"] = _text("barcode", 64)
    _text("category", categories.MAX_NAME)
    data["price_cents"] = _money("price", required=True)
    cost = _money("cost", required=False)
    data["cost_cents"] = cost or 0
    data["reorder_point"] = whole_number("reorder_point", low=0, required=False) or 0
    data["reorder_qty"] = whole_number("reorder_qty", low=0, required=False) or 0
    data["active"] = request.form.get("active") == "1"
    return data


def _form_of(product: Product) -> dict:
    return {"sku": product.sku, "name": product.name, "barcode": product.barcode or "",
            "price": money_text(product.price_cents), "cost": money_text(product.cost_cents),
            "category": categories.category_of(product) or "",
            "reorder_point": str(product.reorder_point), "reorder_qty": str(product.reorder_qty),
            "active": "1" if product.active else ""}


def price_history(sku: str) -> list[dict]:
    """Each price or cost the product has had, newest first, from the audit trail: when, who, from and
    to. Changes made on these pages or through the API (product.create / product.update) and by a
    products import (import.products, which records each product's changed fields) all count."""
    product_events = (AuditEvent.entity == "product") & (AuditEvent.entity_id == sku) & AuditEvent.action.in_(
        ("product.create", "product.update"))
    imports = (AuditEvent.action == "import.products") & AuditEvent.after.contains(json.dumps(sku))
    state: dict = {}
    history = []
    for event in AuditEvent.select().where(product_events | imports).order_by(AuditEvent.id):
        after = json.loads(event.after) if event.after else {}
        if event.action == "import.products":
            changes = after.get("updated", {}).get(sku)
            if changes is None:  # created by the import (its values are not in the trail), or only named
                state = {} if sku in after.get("created", ()) else state
                continue
            now = state | {f: pair[1] for f, pair in changes.items() if f in ("price_cents", "cost_cents")}
            was = state | {f: pair[0] for f, pair in changes.items() if f in ("price_cents", "cost_cents")}
        else:
            now, was = after, (json.loads(event.before) if event.before else {})
        price, cost = now.get("price_cents"), now.get("cost_cents")
        if event.action != "product.create" and (price, cost) == (was.get("price_cents"), was.get("cost_cents")):
            state = {"price_cents": price, "cost_cents": cost}
            continue
        history.append({"at": event.at, "actor": event.actor, "price_cents": price, "cost_cents": cost,
                        "was_price_cents": was.get("price_cents"), "was_cost_cents": was.get("cost_cents"),
                        "source": "import" if event.action == "import.products" else "page or API"})
        state = {"price_cents": price, "cost_cents": cost}
    return history[::-1]
