"""Orders: the list with filters and paging, counter order entry, and the order page with its actions."""
from __future__ import annotations

import hashlib
import json
import re
import secrets
from datetime import datetime, timedelta

from flask import (Blueprint, flash, g, jsonify, make_response, redirect, render_template, request, session,
                   url_for)

from appliance import accounts, counter_picks, customers, inventory, orders, payments, product_search
from appliance.errors import AppError, Conflict, Forbidden, InsufficientStock, Invalid, Unauthorized
from appliance.limits import MAX_ORDER_LINES
from appliance.models import CHANNELS, ORDER_STATUSES, PAYMENT_METHODS, Customer, Payment, Product, utcnow
from web.errors import error_response
from web.exports import FORMATS, Column, download

from . import from_shop_clock, payment_forms, receipts, settings
from .auth import _throttle as sign_in_throttle
from .forms import FORM, field_errors
from .security import CSRF_FIELD, can, requires

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
    if args.get("format") in FORMATS and not problems:  # every order the filters find, not only the page's
        return download(_all_orders(filters), ORDER_COLUMNS, args["format"], "orders")
    try:
        found, next_cursor = orders.list_orders(settings(), filters, limit=PAGE_SIZE, cursor=args.get("cursor") or None)
    except Invalid as e:
        problems.append(e.message)
        found, next_cursor = orders.list_orders(settings(), filters, limit=PAGE_SIZE)
    kept = {k: v for k, v in args.items() if k != "cursor" and v}
    customer = Customer.get_or_none(Customer.id == filters.customer_id) if filters.customer_id else None
    return render_template("orders/list.html", orders=found, filters=args, problems=problems, customer=customer,
                           download_args={k: v for k, v in kept.items() if k != "format"},
                           statuses=ORDER_STATUSES, channels=CHANNELS,
                           next_url=url_for(".list_orders", **kept, cursor=next_cursor) if next_cursor else None,
                           first_url=url_for(".list_orders", **kept) if args.get("cursor") else None)


ORDER_COLUMNS = [Column("number", "Number"), Column("created_at", "Created (UTC)"), Column("status", "Status"),
                 Column("channel", "Channel"), Column("customer_name", "Customer"), Column("items", "Items", "int"),
                 Column("total_cents", "Total", "money"), Column("paid_cents", "Paid", "money"),
                 Column("refunded_cents", "Refunded", "money"), Column("due_cents", "Due", "money"),
                 Column("created_by", "Taken by")]
EXPORT_BATCH = 500


def _all_orders(filters: orders.OrderFilters):
    """The filtered orders, newest first, read a batch at a time as the download is written."""
    cursor = None
    while True:
        batch, cursor = orders.list_orders(settings(), filters, limit=EXPORT_BATCH, cursor=cursor)
        for order in batch:
            yield {**order, "customer_name": (order["customer"] or {}).get("name"),
                   "items": sum(line["qty"] for line in order["lines"])}
        if cursor is None:
            return


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

# The till keeps selling while the box is away (restart, restore, failover): Chromium has no
# "stale-if-error" and revalidates the page itself on a reload (F5 fails at once with the box down),
# but a *navigation* (opening the till's address, a new tab, the script's own F5) takes a page that is
# still fresh by max-age from its disk cache without asking the box. So the order-entry page and the
# assets it needs are cacheable for a shift; a page carrying flash messages is not (they would show
# again). The page's form key is replaced by the script on each load, so a cached copy never replays
# the sale of the copy before it.
TILL_CACHE_SECONDS = 12 * 3600
TILL_ASSETS = frozenset({"app.css", "counter.css", "order-entry.css", "forms.js", "payment.js", "order-entry.js",
                         "till-offline.js", "counter-picks.js"})
# The till's copy of the catalogue (IndexedDB), to price lines while the box is away: a shop's whole
# range fits; a larger one keeps its first products by SKU and the rest need the box.
TILL_CATALOG_MAX = 20_000
# Why a sale the till took while the box was away waits when its stock is gone on arrival.
HELD_OFFLINE = "sold at the till while the box was away"


@blueprint.get("/orders/new")
@requires("staff")
def new_order():
    # A fresh key per rendered form: submitting this form twice (double click, reload, a retry after
    # a lost answer) replays the first order instead of creating a second one.
    had_flashes = bool(session.get("_flashes"))
    page, status = _order_form(form_key=secrets.token_urlsafe(18), lines=[], form={"channel": "store"}, errors={})
    response = make_response(page, status)
    if not had_flashes:
        response.headers["Cache-Control"] = f"private, max-age={TILL_CACHE_SECONDS}"
        response.cached_for_the_till = True
    return response


@blueprint.after_app_request
def _till_assets_kept_for_a_shift(response):
    """The assets of the order-entry page may be reused from the browser's cache while the box is away."""
    if (request.endpoint == "static" and response.status_code == 200
            and (request.view_args or {}).get("filename") in TILL_ASSETS):
        response.cache_control.no_cache = None
        response.cache_control.private = True
        response.cache_control.max_age = TILL_CACHE_SECONDS
        response.cached_for_the_till = True  # the same for everyone: no `Vary: Cookie`
    return response


@blueprint.get("/orders/new/catalog")
@requires("staff")
def till_catalog():
    """What the till keeps to price lines while the box is away: every product for sale, with stock;
    and the session's CSRF token and user, so a page taken from the browser's cache sends with today's."""
    products = list(Product.select(Product.id, Product.sku, Product.barcode, Product.name, Product.price_cents)
                    .where(Product.active == True).order_by(Product.sku).limit(TILL_CATALOG_MAX))  # noqa: E712
    available = inventory.available_by_product(p.id for p in products)
    response = jsonify({"products": [{"sku": p.sku, "barcode": p.barcode, "name": p.name, "price_cents": p.price_cents,
                                      "available": available[p.id]} for p in products],
                        "complete": len(products) < TILL_CATALOG_MAX,
                        "user": g.user.username, CSRF_FIELD: session.get(CSRF_FIELD, "")})
    response.headers["Cache-Control"] = "no-store"
    return response


@blueprint.get("/orders/new/favourites")
@requires("staff")
def counter_favourites():
    """The touch screen's grid: pinned products, then the counter's best sellers (appliance.counter_picks)."""
    return jsonify({"favourites": counter_picks.favourites(utcnow()), "can_pin": can("manager")})


@blueprint.post("/orders/new/favourites/pin")
@requires("manager")
def pin_favourite():
    """A manager pins a product to the grid, or takes it off (JSON {"sku", "pinned"}, X-CSRF-Token)."""
    body = request.get_json(silent=True)
    if not isinstance(body, dict) or not isinstance(body.get("sku"), str) or not isinstance(body.get("pinned"), bool):
        return error_response(422, "Send {\"sku\": \"…\", \"pinned\": true or false}.",
                              [{"field": "sku", "message": "a SKU"}, {"field": "pinned", "message": "true or false"}])
    try:
        counter_picks.pin(body["sku"].strip(), body["pinned"], g.user.username)
    except AppError as e:
        return error_response(e.status, e.message, e.details)
    return jsonify({"favourites": counter_picks.favourites(utcnow()), "can_pin": True})


@blueprint.get("/orders/new/often-bought-with")
@requires("staff")
def often_bought_with():
    """Products customers bought together with the lines on screen (?sku=…&sku=…), once history says so."""
    return jsonify({"products": counter_picks.often_bought_with(request.args.getlist("sku"), utcnow()),
                    "min_orders_of_a_line": counter_picks.MIN_ORDERS_OF_A_LINE,
                    "min_orders_together": counter_picks.MIN_ORDERS_TOGETHER})


@blueprint.post("/orders/new/sent-later")
@requires("staff")
def send_till_sale():
    """A sale the till took while the box was away, sent now (JSON, with the X-CSRF-Token header); or
    (`"via": "form"`) a sale whose form the till posted without seeing the answer, sent again.

    Its Idempotency-Key (made by the till) is scoped to the signed-in user as the API scopes it, so the
    till may send it any number of times and it arrives once. Its stock may be gone by now: it is then
    kept `pending` with the reason (the customer has the goods), and so is one needing approval; either
    way the payment taken at the till is written in its note for the manager who settles it.
    """
    body = request.get_json(silent=True)
    try:
        sale = _till_sale(body)
        placed, unpaid = _place_till_sale(sale, body)
    except AppError as e:
        return error_response(e.status, e.message, e.details)
    answer = jsonify({"number": placed.number, "status": placed.data["status"], "replayed": placed.replayed,
                      "pending_reasons": placed.data["pending_reasons"], "unpaid": unpaid,
                      "url": url_for(".order_detail", number=placed.number)})
    return answer, 200 if placed.replayed else 201


def _till_sale(body) -> dict:
    """The sale as the till kept it, checked: {key, channel, lines, customer, note, payments}."""
    if not isinstance(body, dict):
        raise Invalid("Send the sale as a JSON object.", [{"field": "body", "message": "expected a JSON object"}])
    details = []
    key = body.get("key")
    if not isinstance(key, str) or not 8 <= len(key.strip()) <= 100:
        details.append({"field": "key", "message": "the till's Idempotency-Key: 8 to 100 characters"})
    raw_lines = body.get("lines")
    if not isinstance(raw_lines, list) or not 0 < len(raw_lines) <= MAX_ORDER_LINES:
        details.append({"field": "lines", "message": f"1 to {MAX_ORDER_LINES} lines"})
        raw_lines = []
    lines = []
    for i, line in enumerate(raw_lines):
        if not isinstance(line, dict) or not isinstance(line.get("sku"), str):
            details.append({"field": f"lines[{i}]", "message": "expected {\"sku\": \"…\", \"qty\": 1}"})
            continue
        lines.append(orders.LineRequest(line["sku"].strip(), line.get("qty")))  # the domain checks the quantity
    customer = body.get("customer_id")
    if customer is not None and (not isinstance(customer, int) or isinstance(customer, bool)):
        details.append({"field": "customer_id", "message": "a customer number, or null"})
    note = body.get("note") or ""
    if not isinstance(note, str) or len(note) > 900:
        details.append({"field": "note", "message": "text of at most 900 characters"})
    channel = body.get("channel") or payments.COUNTER_CHANNEL
    via = body.get("via") or "offline"
    if via not in ("offline", "form"):
        details.append({"field": "via", "message": "offline (kept while the box was away) or form (an answer lost)"})
    if details:
        raise Invalid("The sale the till kept is not valid.", details)
    paid_with = payments.parse(body["payments"]) if body.get("payments") else None
    return {"key": key.strip(), "channel": channel, "lines": lines, "customer": customer, "note": note.strip(),
            "payments": paid_with, "via": via}


def _place_till_sale(sale: dict, body: dict) -> tuple[orders.PlacedOrder, bool]:
    """(the order, whether the till's payment had to be left in its note)."""
    if sale["via"] == "form":
        # The till posted this sale's form and never saw the answer (the box went away meanwhile): the
        # form's own key and fingerprint, so a form the box did take replays its order, never a second one.
        idempotency = orders.Idempotency(f"web:{sale['key']}", _fingerprint(sale["channel"], sale["lines"],
                                                                            sale["customer"], sale["note"]))
        taken = f"sent again by the till: the answer to its form was lost (key {sale['key']})"
    else:
        fingerprint = hashlib.sha256(json.dumps({k: body.get(k) for k in ("channel", "lines", "customer_id", "note",
                                                                           "payments")},
                                                sort_keys=True).encode()).hexdigest()
        idempotency = orders.Idempotency.of_client(g.user.username, f"till:{sale['key']}", fingerprint)
        taken = f"taken at the till while the box was away (key {sale['key']})"
    place = dict(channel=sale["channel"], lines=sale["lines"], actor=g.user.username, customer=sale["customer"],
                 idempotency=idempotency, held_if_short=HELD_OFFLINE)
    paid_with = sale["payments"]
    try:
        return orders.place_order(settings(), **place, note=_joined(sale["note"], taken), paid_with=paid_with), False
    except Conflict as e:
        if not paid_with or not _is_payment_refusal(e):
            raise
    # It waits for a manager (stock gone, or over a limit): pending orders take no payment, so what the
    # till took is written where the manager settling it reads it.
    paid = ", ".join(f"{p.method} {payment_forms.money_text(p.amount_cents)}" for p in paid_with)
    return orders.place_order(settings(), **place, note=_joined(sale["note"], f"{taken}; paid there: {paid}")), True


def _joined(*parts: str) -> str:
    return " · ".join(part for part in parts if part)


@blueprint.get("/orders/new/product")
@requires("staff")
def product_lookup():
    """What the scan field asks for each scanned code: the product and how many can be sold."""
    code = (request.args.get("code") or "").strip()
    product = product_search.product_by_code(code) if code else None  # lower-case codes too
    if product is None or not product.active:
        reason = "not for sale" if product is not None else "unknown"
        return jsonify({"error": f"No product for sale with code {code!r} ({reason})."}), 404
    return jsonify(_line_info(product))


@blueprint.get("/orders/new/search")
@requires("staff")
def product_search_results():
    """Products for sale as the counter types: words of the name, SKU or barcode in any order and case."""
    raw_limit = request.args.get("limit") or "8"
    limit = int(raw_limit) if raw_limit.isdigit() else 8
    found = product_search.search_products(request.args.get("q"), limit=limit)
    return jsonify({"products": found, "limit": max(1, min(limit, product_search.MAX_RESULTS))})


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
    pay_rows = payment_forms.submitted_rows(form)
    paid_with = None
    if pay_rows and not errors:
        paid_with, pay_errors = payment_forms.parse_rows(pay_rows, _expected_total(lines))
        if pay_errors:
            errors.update(pay_errors)
            errors[FORM] = "The payment is not right yet: see the marked fields."
    if errors:
        return _order_form(form_key, _shown_lines(lines), form, errors, status=422)
    # The key's fingerprint leaves the payments out: a repeat of a paid form replays the paid order
    # (never a second payment), whatever was typed as tendered the second time.
    idempotency = orders.Idempotency(f"web:{form_key}", _fingerprint(channel, lines, customer_ref, form.get("note")))
    place = dict(channel=channel, lines=lines, actor=g.user.username, customer=customer_ref,
                 note=(form.get("note") or "").strip() or None, idempotency=idempotency)
    unpaid_because = None
    try:
        try:
            placed = orders.place_order(settings(), **place, paid_with=paid_with or None)
        except Conflict as e:
            if not paid_with or not _is_payment_refusal(e):
                raise
            # It needs a manager's approval first: the sale is kept (unpaid) instead of lost.
            unpaid_because = e.message
            placed = orders.place_order(settings(), **place)
    except InsufficientStock as e:
        return _order_form(form_key, _shown_lines(lines), form, _stock_errors(e), status=409)
    except Conflict as e:
        # The same form was already submitted with other lines: never create a second order from it.
        done = next((d.get("order") for d in e.details if isinstance(d, dict) and d.get("order")), None)
        message = (f"This form was already submitted as order {done}; start a new order for more."
                   if done else e.message)
        return _order_form(form_key, _shown_lines(lines), form, {FORM: message}, status=409, done_order=done)
    except AppError as e:
        if paid_with and _is_payment_refusal(e):
            errors = {FORM: e.message, **payment_forms.domain_errors(e)}
        else:
            errors = field_errors(e, {"customer.name": "new_customer_name", "customer.email": "new_customer_email",
                                      "customer": "customer_id"})
            errors.update(_line_field_errors(e, lines))
        return _order_form(form_key, _shown_lines(lines), form, errors, status=e.status)
    if placed.replayed:
        flash(f"Order {placed.number} had already been saved; it was not entered twice.", "info")
    elif unpaid_because:
        flash(f"{unpaid_because} The sale is kept; no payment was taken.", "warning")
    elif placed.data["status"] == "pending":
        flash(f"Order {placed.number} is waiting for a manager's approval.", "warning")
    elif paid_with:
        done = "paid and handed over" if placed.data["status"] == "delivered" else "paid"
        flash(f"Order {placed.number} is {done}.", "success")
        _email_receipt(placed.number)
        return redirect(url_for(".order_detail", number=placed.number, sale="done"))
    else:
        flash(f"Order {placed.number} is confirmed.", "success")
    return redirect(url_for(".order_detail", number=placed.number))


def _is_payment_refusal(e: AppError) -> bool:
    return any(isinstance(d, dict) and (d.get("action") == "pay" or str(d.get("field", "")).startswith("payments"))
               for d in e.details)


def _expected_total(lines: list[orders.LineRequest]) -> int | None:
    """What the order will cost at today's prices (None when a product is unknown: the order says so)."""
    products = {p.sku: p for p in Product.select().where(Product.sku.in_([line.sku for line in lines]))}
    if any(line.sku not in products for line in lines):
        return None
    return sum(products[line.sku].price_cents * line.qty for line in lines)


def _email_receipt(number: str) -> None:
    """After a paid sale: the receipt goes to the customer's e-mail address, when one is known."""
    outcome = receipts.email_receipt(number, settings())
    if outcome.queued_for:
        flash(f"Receipt on its way to {outcome.queued_for}.", "info")
    elif outcome.problem and outcome.address:
        flash(f"The receipt could not be e-mailed: {outcome.problem} Send it again from the receipt page.", "warning")


def _submitted_lines() -> tuple[list[orders.LineRequest], dict[str, str]]:
    skus = request.form.getlist("line_sku")
    quantities = request.form.getlist("line_qty")
    lines, errors, refused = [], {}, []
    for sku, raw_qty in zip(skus, quantities):
        sku = sku.strip()
        if not sku:
            continue
        typed = (raw_qty or "").strip()
        qty = int(typed) if typed.isascii() and typed.isdigit() else 0
        if qty <= 0:
            problem = (f"{typed} is not a whole number: enter whole units (1, 2, 3…)."
                       if typed and not re.fullmatch(r"[+-]?[0-9]+", typed) else "Enter a whole number above zero.")
            errors[f"line:{sku}"] = problem
            refused.append(f"line {len(lines) + 1} ({sku}): {problem}")
        lines.append(orders.LineRequest(sku, qty))
    if refused:
        errors[FORM] = "Fix the quantity on " + "; ".join(refused)
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
    if request.method == "POST":  # a refused quantity comes back as it was typed, on its line
        state["typed"] = {sku.strip(): qty for sku, qty in zip(request.form.getlist("line_sku"),
                                                                request.form.getlist("line_qty"))
                          if f"line:{sku.strip()}" in errors}
    return render_template("orders/new.html", form_key=form_key, form=form, errors=errors, state=state,
                           shop=receipts.shop_header(settings()),
                           channels=CHANNELS, done_order=done_order, pay_rows=payment_forms.submitted_rows(form),
                           methods=PAYMENT_METHODS), status


# -- one order --------------------------------------------------------------------------------

@blueprint.get("/orders/<number>")
@requires("staff")
def order_detail(number: str):
    return _detail_page(number, errors={}, form={})


def _detail_page(number: str, errors: dict[str, str], form, status: int = 200):
    order = orders.get_order(number)
    data = orders.order_dict(order, settings(), with_events=True)
    payable = order.status in orders.PAYABLE and data["due_cents"] > 0
    typed = payment_forms.submitted_rows(form)
    pay_rows = typed or [{"method": "cash", "amount": payment_forms.money_text(data["due_cents"]), "tendered": ""}]
    return render_template("orders/detail.html", order=data, actions=allowed_actions(order.status),
                           labels=ACTION_LABELS, errors=errors, form=form, payable=payable, pay_rows=pay_rows,
                           methods=PAYMENT_METHODS, sale_done=request.args.get("sale") == "done",
                           pay_key=secrets.token_urlsafe(18), pay_auto=not typed,
                           return_qtys=form.getlist("return_qty") if hasattr(form, "getlist") else []), status


@blueprint.post("/orders/<number>/pay")
@requires("staff")
def pay_order(number: str):
    """Pay later: what is due on a confirmed (or shipped) order, in one or more payments."""
    form = request.form
    order = orders.get_order(number)
    due = orders.order_dict(order, settings())["due_cents"]
    rows = payment_forms.submitted_rows(form)
    if not rows:
        return _detail_page(number, {FORM: "Enter the payment first.", "pay_amount:0": "Enter an amount like 12.50."},
                            form, status=422)
    form_key = (form.get("form_key") or "").strip()
    key = f"web-pay:{number}:{form_key}" if form_key else None
    # This form was sent already (a double click, a retry): the domain replays its payment.
    sent_before = key is not None and Payment.select().where(Payment.idempotency_key == key).exists()
    if due <= 0 and not sent_before:
        return _detail_page(number, {FORM: f"Nothing is due on order {number}: it is paid already."}, form,
                            status=409)
    paid_with, errors = payment_forms.parse_rows(rows, None if sent_before else due)
    if errors:
        return _detail_page(number, {FORM: "The payment is not right yet: see the marked fields.", **errors}, form,
                            status=422)
    idempotency = orders.Idempotency(key, payments.fingerprint(paid_with)) if key else None
    try:
        data, replayed = orders.pay_order(settings(), number, paid_with, g.user.username, idempotency)
    except AppError as e:
        errors = {FORM: e.message}
        if _is_payment_refusal(e) and e.status == 422:
            errors.update(payment_forms.domain_errors(e))
        return _detail_page(number, errors, form, status=e.status)
    if replayed:
        flash(f"Order {number}: this payment had already been recorded; it was not taken twice.", "info")
    else:
        flash(f"Order {number} is paid{' and handed over' if data['status'] == 'delivered' and order.status == 'confirmed' else ''}.",
              "success")
        _email_receipt(number)
    return redirect(url_for(".order_detail", number=number, sale="done"))


@blueprint.post("/orders/<number>/return")
@requires("manager")
def return_order(number: str):
    """Takes back some lines (or everything) of a handed-over order, with a refund and a reason."""
    form = request.form
    errors: dict[str, str] = {}
    lines = None
    if "return_sku" in form:
        lines = []
        for sku, raw in zip(form.getlist("return_sku"), form.getlist("return_qty")):
            raw = raw.strip()
            if not raw or raw == "0":
                continue
            if not raw.isdigit():
                errors[f"return_qty:{sku}"] = "Enter a whole number, 0 or more."
                continue
            lines.append(orders.LineRequest(sku, int(raw)))
        if not lines and not errors:
            errors["return_lines"] = "Enter how many of at least one line come back."
    refund_cents = 0
    raw_refund = (form.get("refund_amount") or "").strip()
    if raw_refund:
        refund = payment_forms.money_cents(raw_refund)
        if refund is None:
            errors["refund_amount"] = "Enter an amount like 12.50 (or leave it empty: no refund)."
        else:
            refund_cents = refund
    method = (form.get("refund_method") or "").strip() or None
    if method is not None and method not in PAYMENT_METHODS:
        errors["refund_method"] = "Choose cash, card or other."
    reason = (form.get("reason") or form.get("note") or "").strip()
    if not reason:
        errors["reason"] = "Say why it comes back: the reason is kept in the timeline and the audit trail."
    if errors:
        return _detail_page(number, {FORM: "The return is not right yet: see the marked fields.", **errors}, form,
                            status=422)
    try:
        orders.return_lines(settings(), number, g.user.username, lines=lines, refund_cents=refund_cents,
                            refund_method=method, reason=reason[:1000])
    except AppError as e:
        return _detail_page(number, {FORM: e.message, **_return_field_errors(e, lines)}, form, status=e.status)
    refunded = f"; {payment_forms.money_text(refund_cents)} refunded" if refund_cents else ""
    flash(f"Order {number}: taken back{refunded}.", "success")
    return redirect(url_for(".order_detail", number=number))


def _return_field_errors(e: AppError, lines: list[orders.LineRequest] | None) -> dict[str, str]:
    errors = {}
    for detail in e.details:
        if not isinstance(detail, dict):
            continue
        field = str(detail.get("field") or "")
        if field == "refund_cents" and "refundable_cents" in detail:
            errors["refund_amount"] = (f"At most {payment_forms.money_text(detail['refundable_cents'])} can be "
                                       "refunded (paid, less refunds already given).")
        elif field == "refund_cents":
            errors["refund_amount"] = "Enter an amount above zero (or leave it empty: no refund)."
        elif field.startswith("lines[") and detail.get("sku"):
            errors[f"return_qty:{detail['sku']}"] = detail.get("message", "not valid")
        elif field == "lines":
            errors["return_lines"] = detail.get("message", "not valid")
    return errors


@blueprint.post("/orders/<number>/approve-at-counter")
@requires("staff")
def approve_at_counter(number: str):
    """A manager approves a pending order on the counter's screen: their name and password are checked as
    a sign-in is (argon2, the same throttle, failures audited) but start no session, so the staff user
    stays signed in and the sale stays where it is. The approval is the manager's in the timeline and
    the audit trail."""
    form = request.form
    username = (form.get("manager_username") or "").strip()
    password = form.get("manager_password") or ""
    if not username or not password:
        missing = {"manager_username": "The manager's user name."} if not username else {}
        if not password:
            missing["manager_password"] = "The manager's password."
        return _detail_page(number, {FORM: "A manager signs in here to approve.", **missing}, form, status=422)
    try:
        manager = accounts.authenticate(username, password, **sign_in_throttle(),
                                        failed_action="order.counter_approval_failed")
    except Unauthorized as e:
        return _detail_page(number, {FORM: e.message, "manager_password": e.message}, form, status=401)
    if not accounts.role_allows(manager.role, "manager"):
        return _detail_page(number, {FORM: f"{manager.username} is not a manager: a manager approves this order.",
                                     "manager_username": "Not a manager."}, form, status=403)
    try:
        orders.transition(number, "approve", manager.username,
                          note=f"approved at the counter on {g.user.username}'s screen")
    except AppError as e:
        return _detail_page(number, {FORM: e.message}, {}, status=e.status)
    flash(f"Order {number} is approved by {manager.username}; take the payment now.", "success")
    return redirect(url_for(".order_detail", number=number))


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
    reason = (request.form.get("reason") or "").strip()[:1000]
    if action == "cancel" and not reason:  # checked here too: the dialog's `required` is only the browser's
        return _detail_page(number, {"reason": "Say why: the reason is kept in the timeline and the audit trail.",
                                     FORM: "Cancelling or rejecting an order needs a reason."}, request.form, status=422)
    try:
        orders.transition(number, action, g.user.username, carrier=carrier or None, tracking_number=tracking or None,
                          note=reason or (request.form.get("note") or "").strip() or None)
    except AppError as e:
        # Someone else acted first, or the stock went meanwhile: say so on the order page.
        return _detail_page(number, {FORM: e.message}, request.form, status=e.status)
    flash(f"Order {number}: {ACTION_LABELS[action].lower()} done.", "success")
    return redirect(url_for(".order_detail", number=number))
