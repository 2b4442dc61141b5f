"""Orders: the list with filters and paging, counter order entry, and the order page with its actions."""
from __future__ import annotations

import hashlib
import json
import secrets
from datetime import datetime, timedelta

from flask import Blueprint, flash, g, jsonify, redirect, render_template, request, url_for

from appliance import customers, inventory, orders
from appliance.errors import AppError, Conflict, Forbidden, InsufficientStock, Invalid
from appliance.models import CHANNELS, ORDER_STATUSES, Customer, Product

from . import from_shop_clock, settings
from .forms import FORM, field_errors
from .security import can, requires

blueprint = Blueprint("orders", __name__)

PAGE_SIZE = 25
# Which role each action needs; rejecting (cancelling) a *pending* order needs a manager too.
ACTION_ROLES = {"approve": "manager", "cancel": "staff", "ship": "staff", "deliver": "staff", "return": "manager"}
ACTION_LABELS = {"approve": "Approve", "cancel": "Cancel order", "ship": "Ship", "deliver": "Mark delivered",
                 "return": "Take back (return)"}


# -- list -------------------------------------------------------------------------------------

@blueprint.get("/orders")
@requires("staff")
def list_orders():
    args = request.args
    problems: list[str] = []
    filters = orders.OrderFilters(
        status=_choice(args.get("status"), ORDER_STATUSES, "status", problems),
        channel=_choice(args.get("channel"), CHANNELS, "channel", problems),
        customer_id=_customer_id(args.get("customer"), problems),
        created_from=_shop_time(_date(args.get("from"), "from", problems)),
        created_to=_shop_time(_end_of_day(_date(args.get("to"), "to", problems))),
        overdue=args.get("overdue") == "1",
        query=(args.get("q") or "").strip() or None,
    )
    try:
        found, next_cursor = orders.list_orders(settings(), filters, limit=PAGE_SIZE, cursor=args.get("cursor") or None)
    except Invalid as e:
        problems.append(e.message)
        found, next_cursor = orders.list_orders(settings(), filters, limit=PAGE_SIZE)
    kept = {k: v for k, v in args.items() if k != "cursor" and v}
    customer = Customer.get_or_none(Customer.id == filters.customer_id) if filters.customer_id else None
    return render_template("orders/list.html", orders=found, filters=args, problems=problems, customer=customer,
                           statuses=ORDER_STATUSES, channels=CHANNELS,
                           next_url=url_for(".list_orders", **kept, cursor=next_cursor) if next_cursor else None,
                           first_url=url_for(".list_orders", **kept) if args.get("cursor") else None)


def _choice(value: str | None, allowed: tuple[str, ...], name: str, problems: list[str]) -> str | None:
    if value and value not in allowed:
        problems.append(f"Unknown {name} {value}; that filter is ignored.")
        return None
    return value or None


def _customer_id(value: str | None, problems: list[str]) -> int | None:
    if not value:
        return None
    if not value.isdigit():
        problems.append("The customer filter must be a customer number.")
        return None
    return int(value)


def _date(value: str | None, name: str, problems: list[str]) -> datetime | None:
    if not value:
        return None
    try:
        return datetime.fromisoformat(value)
    except ValueError:
        problems.append(f"The {name} date must look like 2026-01-31.")
        return None


def _shop_time(value: datetime | None) -> datetime | None:
    return from_shop_clock(value) if value else None


def _end_of_day(day: datetime | None) -> datetime | None:
    """'to 2026-01-31' includes that whole day."""
    return day + timedelta(days=1) if day and day.time() == datetime.min.time() else day


# -- counter order entry ----------------------------------------------------------------------

@blueprint.get("/orders/new")
@requires("staff")
def new_order():
    # A fresh key per rendered form: submitting this form twice (double click, reload, a retry after
    # a lost answer) replays the first order instead of creating a second one.
    return _order_form(form_key=secrets.token_urlsafe(18), lines=[], form={"channel": "store"}, errors={})


@blueprint.get("/orders/new/product")
@requires("staff")
def product_lookup():
    """What the scan field asks for each scanned code: the product and how many can be sold."""
    code = (request.args.get("code") or "").strip()
    product = inventory.product_by_code(code) if code else None
    if product is None or not product.active:
        reason = "not for sale" if product is not None else "unknown"
        return jsonify({"error": f"No product for sale with code {code!r} ({reason})."}), 404
    return jsonify(_line_info(product))


def _line_info(product: Product, qty: int = 1) -> dict:
    available = inventory.available_by_product([product.id])[product.id]
    return {"sku": product.sku, "name": product.name, "price_cents": product.price_cents,
            "available": available, "qty": qty}


@blueprint.post("/orders/new")
@requires("staff")
def create_order():
    form = request.form
    form_key = form.get("form_key", "")
    lines, errors = _submitted_lines()
    channel = form.get("channel", "store")
    customer_ref = _customer_ref(form)
    if not form_key:
        errors[FORM] = "This form is missing its key; reload the page."
    if not lines and FORM not in errors:
        errors[FORM] = "Scan at least one product."
        errors["scan"] = "Scan or type a SKU or barcode, then Enter."
    if errors:
        return _order_form(form_key, _shown_lines(lines), form, errors, status=422)
    idempotency = orders.Idempotency(f"web:{form_key}", _fingerprint(channel, lines, customer_ref, form.get("note")))
    try:
        placed = orders.place_order(
            settings(), channel=channel, lines=lines, actor=g.user.username, customer=customer_ref,
            note=(form.get("note") or "").strip() or None, idempotency=idempotency)
    except InsufficientStock as e:
        return _order_form(form_key, _shown_lines(lines), form, _stock_errors(e), status=409)
    except Conflict as e:
        # The same form was already submitted with other lines: never create a second order from it.
        done = next((d.get("order") for d in e.details if isinstance(d, dict) and d.get("order")), None)
        message = (f"This form was already submitted as order {done}; start a new order for more."
                   if done else e.message)
        return _order_form(form_key, _shown_lines(lines), form, {FORM: message}, status=409, done_order=done)
    except AppError as e:
        errors = field_errors(e, {"customer.name": "new_customer_name", "customer.email": "new_customer_email",
                                  "customer": "customer_id"})
        errors.update(_line_field_errors(e, lines))
        return _order_form(form_key, _shown_lines(lines), form, errors, status=e.status)
    if placed.replayed:
        flash(f"Order {placed.number} had already been saved; it was not entered twice.", "info")
    elif placed.data["status"] == "pending":
        flash(f"Order {placed.number} is waiting for a manager's approval.", "warning")
    else:
        flash(f"Order {placed.number} is confirmed.", "success")
    return redirect(url_for(".order_detail", number=placed.number))


def _submitted_lines() -> tuple[list[orders.LineRequest], dict[str, str]]:
    skus = request.form.getlist("line_sku")
    quantities = request.form.getlist("line_qty")
    lines, errors = [], {}
    for sku, raw_qty in zip(skus, quantities):
        sku = sku.strip()
        if not sku:
            continue
        try:
            qty = int(raw_qty)
            if qty <= 0:
                raise ValueError
        except ValueError:
            errors[f"line:{sku}"] = "Enter a whole number above zero."
            qty = 0
        lines.append(orders.LineRequest(sku, qty))
    return lines, errors


def _customer_ref(form) -> int | dict | None:
    if (form.get("customer_id") or "").isdigit():
        return int(form["customer_id"])
    new = {k: (form.get(f"new_customer_{k}") or "").strip() for k in ("name", "phone", "email")}
    if any(new.values()):
        return {k: v for k, v in new.items() if v}
    return None


def _fingerprint(channel: str, lines: list[orders.LineRequest], customer_ref, note: str | None) -> str:
    body = {"channel": channel, "lines": sorted([line.sku, line.qty] for line in lines),
            "customer": customer_ref, "note": (note or "").strip()}
    return hashlib.sha256(json.dumps(body, sort_keys=True).encode()).hexdigest()


def _shown_lines(lines: list[orders.LineRequest]) -> list[dict]:
    """Lines as the form shows them again after an error: what was typed, with current stock."""
    products = {p.sku: p for p in Product.select().where(Product.sku.in_([line.sku for line in lines]))}
    available = inventory.available_by_product(p.id for p in products.values())
    shown = []
    for line in lines:
        product = products.get(line.sku)
        shown.append({"sku": line.sku, "qty": line.qty, "name": product.name if product else "(unknown product)",
                      "price_cents": product.price_cents if product else 0,
                      "available": available.get(product.id, 0) if product else 0})
    return shown


def _stock_errors(e: InsufficientStock) -> dict[str, str]:
    errors = {FORM: e.message}
    for detail in e.details:
        errors[f"line:{detail['sku']}"] = f"Only {detail['available']} available."
    return errors


def _line_field_errors(e: AppError, lines: list[orders.LineRequest]) -> dict[str, str]:
    errors = {}
    for detail in e.details:
        if isinstance(detail, dict) and detail.get("sku"):
            errors[f"line:{detail['sku']}"] = detail.get("message", "not valid")
    return errors


def _order_form(form_key: str, lines: list[dict], form, errors: dict[str, str], status: int = 200,
                done_order: str | None = None):
    customer = None
    if (form.get("customer_id") or "").isdigit():
        found = Customer.get_or_none(Customer.id == int(form["customer_id"]))
        customer = customers.customer_summary(found) if found else None
    state = {"lines": lines, "customer": customer, "errors": {k[5:]: v for k, v in errors.items() if k.startswith("line:")}}
    return render_template("orders/new.html", form_key=form_key, form=form, errors=errors, state=state,
                           channels=CHANNELS, done_order=done_order), status


# -- one order --------------------------------------------------------------------------------

@blueprint.get("/orders/<number>")
@requires("staff")
def order_detail(number: str):
    return _detail_page(number, errors={}, form={})


def _detail_page(number: str, errors: dict[str, str], form, status: int = 200):
    order = orders.get_order(number)
    data = orders.order_dict(order, settings(), with_events=True)
    return render_template("orders/detail.html", order=data, actions=allowed_actions(order.status),
                           labels=ACTION_LABELS, errors=errors, form=form), status


def allowed_actions(status: str) -> list[str]:
    """The actions this user may take on an order in this state, in the order the page shows them."""
    found = []
    for action, (from_states, _, _) in orders.ACTIONS.items():
        if status in from_states and can(_role_for(action, status)):
            found.append(action)
    return found


def _role_for(action: str, status: str) -> str:
    return "manager" if action == "cancel" and status == "pending" else ACTION_ROLES[action]


@blueprint.post("/orders/<number>/<action>")
@requires("staff")
def order_action(number: str, action: str):
    if action not in orders.ACTIONS:
        return _detail_page(number, {FORM: f"Unknown action {action!r}."}, request.form, status=404)
    order = orders.get_order(number)
    needed = _role_for(action, order.status)
    if not can(needed):
        raise Forbidden(f"To {action} this order needs the {needed} role; you are signed in as {g.user.role}.")
    carrier = (request.form.get("carrier") or "").strip()
    tracking = (request.form.get("tracking_number") or "").strip()
    if action == "ship" and not carrier:
        return _detail_page(number, {"carrier": "Which carrier takes the parcel?",
                                     FORM: "Shipping needs a carrier."}, request.form, status=422)
    try:
        orders.transition(number, action, g.user.username, carrier=carrier or None, tracking_number=tracking or None,
                          note=(request.form.get("note") or "").strip() or None)
    except AppError as e:
        # Someone else acted first, or the stock went meanwhile: say so on the order page.
        return _detail_page(number, {FORM: e.message}, request.form, status=e.status)
    flash(f"Order {number}: {ACTION_LABELS[action].lower()} done.", "success")
    return redirect(url_for(".order_detail", number=number))
