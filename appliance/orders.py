"""Orders: creation (lines + reservations + audit in one transaction), lifecycle, listing.

pending (awaiting approval) -> confirmed (stock reserved) -> shipped (stock consumed) -> delivered;
cancelled from pending/confirmed (releases stock); returned from shipped/delivered (restocks).
A transition is claimed with a conditional UPDATE on the current status and proceeds only if one
row changed, so two clerks pressing "ship" at once cannot both ship.
"""
from __future__ import annotations

import base64
import json
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Callable, NamedTuple

from peewee import JOIN, IntegrityError

from . import audit, customers, fencing, payments, sql
from .config import Settings
from .db import is_postgres, write_transaction
from .errors import BadRequest, Conflict, IllegalTransition, InsufficientStock, Invalid, NotFound
from .inventory import Level, Movement, apply_movements, levels_for, line_allocations, plan_reservation
from .idempotency import client_scoped_key
from .limits import MAX_LINE_QTY, MAX_ORDER_TOTAL_CENTS, MAX_PRICE_CENTS
from .models import CHANNELS, Customer, IdempotencyKey, Order, OrderEvent, OrderLine, Payment, Product, utcnow

MAX_LINES = 500
QUANTITY_HISTORY_DAYS = 90

# action: (statuses it may start from, status it leads to, timestamp it sets)
ACTIONS: dict[str, tuple[tuple[str, ...], str, str]] = {
    "approve": (("pending",), "confirmed", "confirmed_at"),
    "cancel": (("pending", "confirmed"), "cancelled", "cancelled_at"),
    "ship": (("confirmed",), "shipped", "shipped_at"),
    "deliver": (("shipped",), "delivered", "delivered_at"),
    "return": (("shipped", "delivered"), "returned", "returned_at"),
}


@dataclass(frozen=True)
class LineRequest:
    sku: str
    qty: int
    # None: the product's price now. An imported order keeps the price it was sold at.
    unit_price_cents: int | None = None


@dataclass(frozen=True)
class Idempotency:
    key: str
    request_hash: str

    @classmethod
    def of_client(cls, client: str, key: str, request_hash: str) -> "Idempotency":
        """A client's Idempotency-Key, kept apart from every other client's (as payment APIs do)."""
        return cls(client_scoped_key(client, key), request_hash)


@dataclass(frozen=True)
class Imported:
    """An order that exists already elsewhere, brought in by an import file (appliance.import_export).

    It keeps its number, status, creation time, prices, carrier and tracking, and its lines as they
    are (not merged). Its status is given, so no approval rule runs; like any order it holds stock only
    while confirmed: shipped, delivered, cancelled and returned ones are history and move no stock.
    """
    source: str                          # the file it came from, named on the order's timeline
    number: str
    status: str
    created_at: datetime | None = None   # None: now
    order_id: int | None = None          # a number in this box's own numbering keeps the id it names
    carrier: str | None = None
    tracking_number: str | None = None


# The lifecycle times an order in each status has been through (an imported order, whose file holds
# only its creation time, gets them all at its created_at).
STATUS_STAMPS: dict[str, tuple[str, ...]] = {
    "pending": (),
    "confirmed": ("confirmed_at",),
    "shipped": ("confirmed_at", "shipped_at"),
    "delivered": ("confirmed_at", "shipped_at", "delivered_at"),
    "cancelled": ("cancelled_at",),
    "returned": ("confirmed_at", "shipped_at", "returned_at"),
}


class _Priced(NamedTuple):
    product: Product
    qty: int
    unit_price_cents: int

    @property
    def product_id(self) -> int:
        return self.product.id

    @property
    def line_total_cents(self) -> int:
        return self.unit_price_cents * self.qty


# -- creation ---------------------------------------------------------------------------------

def create_order(settings: Settings, *, channel: str, lines: list[LineRequest], actor: str,
                 customer: int | dict | None = None, note: str | None = None,
                 idempotency: Idempotency | None = None, imported: Imported | None = None,
                 paid_with: list[payments.PaymentRequest] | None = None,
                 held_if_short: str | None = None) -> tuple[Order, bool]:
    """Creates an order; returns (order, replayed). Replayed is True for a repeated Idempotency-Key.

    The one way an order comes to be: from the API, the counter page, and import files (`imported`).
    `paid_with`: payments taken with the order (they must add up to its total); a counter sale paid
    so is handed over at once (appliance.payments).
    `held_if_short`: an order that lacks stock is kept `pending` with this reason and the short lines
    (a sale the till already handed over while the box was away: refusing it would lose it) instead of
    being refused; a manager settles it.
    """
    lines = _validate_request(channel, lines, imported=imported is not None)
    try:
        with write_transaction():
            if idempotency:
                replay = _replay(idempotency)
                if replay is not None:
                    return replay, True
            order = _insert_order(settings, channel, lines, actor, customer, note, idempotency, imported,
                                  held_if_short)
            if paid_with:
                _take_payments(order, paid_with, actor)
            return order, False
    except IntegrityError:
        # Two requests with the same key raced; the loser reads the winner's order.
        if idempotency:
            replay = _replay(idempotency)
            if replay is not None:
                return replay, True
        raise


def own_number(settings: Settings, order_id: int) -> str:
    """The number this box gives the order with this id."""
    return f"{settings.orders.number_prefix}{order_id:06d}"


# -- orders from web requests -----------------------------------------------------------------

@dataclass(frozen=True)
class PlacedOrder:
    number: str
    data: dict  # order_dict of the new (or replayed) order
    replayed: bool


# Hands a request of `place_order` to the box's order writer and returns its answer, (order data,
# replayed), or None when the writer could not be reached before anything was sent. Installed by
# appliance.order_writer.use in the web workers of `appliance serve`.
OrderSender = Callable[[dict], tuple[dict, bool] | None]
_send_to_writer: OrderSender | None = None


def send_orders_through(sender: OrderSender | None) -> None:
    global _send_to_writer
    _send_to_writer = sender


def place_order(settings: Settings, *, channel: str, lines: list[LineRequest], actor: str,
                customer: int | dict | None = None, note: str | None = None,
                idempotency: Idempotency | None = None,
                paid_with: list[payments.PaymentRequest] | None = None,
                held_if_short: str | None = None) -> PlacedOrder:
    """An order from a web request (API or counter page): written by the box's order writer when
    `appliance serve` runs one (appliance.order_writer), else here with `create_order`."""
    request = {"channel": channel, "lines": [(line.sku, line.qty) for line in lines], "actor": actor,
               "customer": customer, "note": note,
               "idempotency": (idempotency.key, idempotency.request_hash) if idempotency else None}
    if paid_with:
        request["payments"] = [p.as_data() for p in paid_with]
    if held_if_short:
        request["held_if_short"] = held_if_short
    answer = _send_to_writer(request) if _send_to_writer is not None else None
    # No answer: no writer runs (starting again, or turned off), so this worker writes the order itself.
    data, replayed = answer if answer is not None else written_order(settings, request)
    return PlacedOrder(data["number"], data, replayed)


def written_order(settings: Settings, request: dict) -> tuple[dict, bool]:
    """create_order for a request of `place_order` (plain data: it may come over a socket)."""
    idempotency = Idempotency(*request["idempotency"]) if request["idempotency"] else None
    paid_with = payments.parse(request["payments"]) if request.get("payments") else None
    order, replayed = create_order(settings, channel=request["channel"], actor=request["actor"],
                                   lines=[LineRequest(sku, qty) for sku, qty in request["lines"]],
                                   customer=request["customer"], note=request["note"], idempotency=idempotency,
                                   paid_with=paid_with, held_if_short=request.get("held_if_short"))
    return order_dict(order, settings), replayed


# -- the transaction --------------------------------------------------------------------------

def _validate_request(channel: str, lines: list[LineRequest], imported: bool) -> list[LineRequest]:
    details = []
    if channel not in CHANNELS:
        details.append({"field": "channel", "message": f"must be one of {', '.join(CHANNELS)}"})
    if not lines:
        details.append({"field": "lines", "message": "an order needs at least one line"})
    if len(lines) > MAX_LINES and not imported:  # bounds a request; an import file has its own limits
        details.append({"field": "lines", "message": f"at most {MAX_LINES} lines"})
    for i, line in enumerate(lines):
        if not _is_count(line.qty) or not 0 < line.qty <= MAX_LINE_QTY:
            details.append({"field": f"lines[{i}].qty", "message": f"must be a whole number from 1 to {MAX_LINE_QTY}"})
        if not isinstance(line.sku, str) or not line.sku.strip():
            details.append({"field": f"lines[{i}].sku", "message": "required"})
        if line.unit_price_cents is not None and (not _is_count(line.unit_price_cents)
                                                  or not 0 <= line.unit_price_cents <= MAX_PRICE_CENTS):
            details.append({"field": f"lines[{i}].unit_price_cents", "message": f"must be a whole number from 0 to {MAX_PRICE_CENTS}"})
    if details:
        raise Invalid("The order is not valid.", details)
    if imported:
        return lines  # kept as the file has them: the same SKU may be on two lines at two prices
    # The same SKU twice (scanned twice) is one line with the summed quantity.
    merged: dict[str, int] = {}
    for line in lines:
        merged[line.sku.strip()] = merged.get(line.sku.strip(), 0) + line.qty
    over = [{"field": "lines", "sku": sku, "message": f"at most {MAX_LINE_QTY} of one product"}
            for sku, qty in merged.items() if qty > MAX_LINE_QTY]
    if over:
        raise Invalid(f"An order holds at most {MAX_LINE_QTY} of one product.", over)
    return [LineRequest(sku, qty) for sku, qty in merged.items()]


def _is_count(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


_FIND_KEY = "SELECT request_hash, order_id FROM idempotency_key WHERE key = ?"
_REMEMBER_KEY = "INSERT INTO idempotency_key (key, request_hash, order_id, created_at) VALUES (?, ?, ?, ?)"
_PRODUCTS = "SELECT id, sku, name, price_cents, active, usual_qty FROM product WHERE sku IN ({})"
_INSERT_ORDER = "INSERT INTO orders ({columns}) VALUES ({values}) RETURNING id"
_NUMBER_ORDER = "UPDATE orders SET number = ? WHERE id = ?"
_INSERT_LINES = ("INSERT INTO order_line (order_id, product_id, qty, unit_price_cents, line_total_cents) "
                 "VALUES {} RETURNING id, product_id")
_INSERT_EVENT = "INSERT INTO order_event (order_id, from_status, to_status, actor, note, at) VALUES (?, ?, ?, ?, ?, ?)"
# An explicit id does not advance PostgreSQL's sequence; the next order created must not reuse it.
_ADVANCE_ORDER_IDS = "SELECT setval(pg_get_serial_sequence('orders', 'id'), (SELECT MAX(id) FROM orders))"


def _replay(idempotency: Idempotency) -> Order | None:
    row = sql.one(_FIND_KEY, (idempotency.key,))
    if row is None:
        return None
    request_hash, order_id = row
    order = Order.get_by_id(order_id)
    if request_hash != idempotency.request_hash:
        raise Conflict("This Idempotency-Key was already used with a different request.",
                       [{"idempotency_key": idempotency.key, "order": order.number}])
    return order


def _insert_order(settings: Settings, channel: str, lines: list[LineRequest], actor: str,
                  customer_ref: int | dict | None, note: str | None, idempotency: Idempotency | None,
                  imported: Imported | None, held_if_short: str | None = None) -> Order:
    """The hot path: ~15 statements of plain SQL (appliance.sql) while the write lock is held."""
    products = _products_for(lines, for_sale=imported is None)
    customer = customers.resolve(customer_ref, actor, settings.shop.country) if customer_ref is not None else None
    priced = [_Priced(products[line.sku], line.qty, _price(line, products[line.sku])) for line in lines]
    total = sum(item.line_total_cents for item in priced)
    if total > MAX_ORDER_TOTAL_CENTS:
        raise Invalid(f"An order's total is at most {MAX_ORDER_TOTAL_CENTS} cents.",
                      [{"field": "lines", "message": f"total {total} above {MAX_ORDER_TOTAL_CENTS}"}])
    status, reasons, plans = _status_of(settings, priced, total, customer, imported, held_if_short)
    now = utcnow()
    created_at = (imported.created_at if imported else None) or now
    fields = {"channel": channel, "status": status, "note": note or None, "total_cents": total,
              "pending_reasons": json.dumps(reasons), "created_by": actor, "created_at": created_at,
              "updated_at": now, "epoch": fencing.writing_epoch(),
              **{stamp: created_at for stamp in STATUS_STAMPS[status]}}
    if imported:
        fields.update(carrier=imported.carrier, tracking_number=imported.tracking_number)
    order_id, number = _insert_order_row(settings, customer, fields, imported)
    order = Order(id=order_id, number=number, customer=customer, **fields)
    order.money = {"paid_cents": 0, "refunded_cents": 0, "change_cents": 0}  # nothing paid yet: no query
    # Kept on the new order so the answer is built without reading it back.
    order.new_lines = _insert_lines(order, priced)
    if status == "confirmed":
        _reserve(order, order.new_lines, plans, actor)
    event_note = f"imported from {imported.source}"[:500] if imported else "; ".join(reasons) or None
    sql.run(_INSERT_EVENT, (order_id, None, status, actor, event_note, created_at))
    if idempotency:
        sql.run(_REMEMBER_KEY, (idempotency.key, idempotency.request_hash, order_id, now))
    audit.record(actor, "order.create", "order", number, after={
        "status": status, "channel": channel, "total_cents": total,
        "lines": [[item.product.sku, item.qty] for item in priced], "customer": customer.id if customer else None,
        **({"imported_from": imported.source} if imported else {})})
    return order


def _price(line: LineRequest, product: Product) -> int:
    return product.price_cents if line.unit_price_cents is None else line.unit_price_cents


def _status_of(settings: Settings, priced: list[_Priced], total: int, customer: Customer | None,
               imported: Imported | None, held_if_short: str | None = None,
               ) -> tuple[str, list[str], list[list[tuple[Level, int]]] | None]:
    """The new order's status, why it waits (when pending) and where each line's stock comes from."""
    if imported:
        plans = _plan_all(priced) if imported.status == "confirmed" else None
        reasons = [f"imported from {imported.source}"] if imported.status == "pending" else []
        return imported.status, reasons, plans
    try:
        plans = _plan_all(priced)  # a pending order reserves nothing yet, but the stock must be there now
    except InsufficientStock as short:
        if not held_if_short:
            raise
        lacking = ", ".join(f"{d['requested']} × {d['sku']} with {d['available']} available" for d in short.details)
        return "pending", [f"{held_if_short}: not enough stock ({lacking})",
                           *approval_reasons(settings, priced, total, customer)], None
    reasons = approval_reasons(settings, priced, total, customer)
    return ("pending" if reasons else "confirmed"), reasons, plans


def _insert_order_row(settings: Settings, customer: Customer | None, fields: dict,
                      imported: Imported | None) -> tuple[int, str]:
    """Inserts the order's row; returns (id, number). A new order's number comes from its id, so
    numbers follow creation order on every engine; an imported order keeps its own."""
    columns = {"number": imported.number if imported else uuid.uuid4().hex[:32],
               "customer_id": customer.id if customer else None, **fields}
    if imported and imported.order_id:
        columns["id"] = imported.order_id
    (order_id,) = sql.one(_INSERT_ORDER.format(columns=", ".join(columns), values=sql.in_list(len(columns))),
                          list(columns.values()))
    if imported:
        if imported.order_id and is_postgres():
            sql.run(_ADVANCE_ORDER_IDS)
        return order_id, imported.number
    number = own_number(settings, order_id)
    sql.run(_NUMBER_ORDER, (number, order_id))
    return order_id, number


def _insert_lines(order: Order, priced: list[_Priced]) -> list[OrderLine]:
    inserted = sql.rows(_INSERT_LINES.format(sql.values_list(len(priced), 5)), [
        v for item in priced
        for v in (order.id, item.product.id, item.qty, item.unit_price_cents, item.line_total_cents)])
    # RETURNING gives the rows in no set order, but ids follow the VALUES order (an imported order may
    # name a product on two lines, so the product alone does not tell which line is which).
    returned = sorted(inserted)
    assert [product_id for _, product_id in returned] == [item.product.id for item in priced]
    return [OrderLine(id=line_id, order=order, product=item.product, qty=item.qty,
                      unit_price_cents=item.unit_price_cents, line_total_cents=item.line_total_cents)
            for (line_id, _), item in zip(returned, priced)]


def _products_for(lines: list[LineRequest], for_sale: bool = True) -> dict[str, Product]:
    """The lines' products by SKU. Every one must exist, and be for sale unless the order is history
    (an import)."""
    skus = [line.sku for line in lines]
    products = {}
    for product_id, sku, name, price, active, usual in sql.rows(_PRODUCTS.format(sql.in_list(len(skus))), skus):
        products[sku] = Product(id=product_id, sku=sku, name=name, price_cents=price, active=bool(active), usual_qty=usual)
    unknown = [{"field": f"lines[{i}].sku", "sku": line.sku, "message": "unknown SKU"}
               for i, line in enumerate(lines) if line.sku not in products]
    if unknown:  # as everywhere a SKU is named (receive, adjust, count): not found
        raise NotFound("Some lines name products that do not exist.", unknown)
    details = []
    for i, line in enumerate(lines):
        product = products[line.sku]
        if for_sale and not product.active:
            details.append({"field": f"lines[{i}].sku", "sku": line.sku, "message": "product is not for sale"})
    if details:  # the product's state, not the request, is in the way: a conflict
        raise Conflict("Some lines name products that are not for sale.", details)
    return products


def _plan_all(lines: list[_Priced] | list[OrderLine]) -> list[list[tuple[Level, int]]]:
    """Where each line's stock comes from (a plan per line, in turn); raises InsufficientStock
    naming every short line."""
    levels = levels_for({line.product_id for line in lines})
    plans, short = [], []
    for line in lines:
        available = sum(lv.on_hand - lv.reserved for lv in levels.get(line.product_id, []))
        plan = plan_line(levels, line.product_id, line.qty)
        if not plan:
            short.append({"sku": line.product.sku, "requested": line.qty, "available": max(available, 0)})
        plans.append(plan)
    if short:
        names = ", ".join(s["sku"] for s in short)
        raise InsufficientStock(f"Not enough stock for {names}.", short)
    return plans


def plan_line(levels: dict[int, list[Level]], product_id: int, qty: int) -> list[tuple[Level, int]]:
    """plan_reservation for one line over `levels` (by product, in pick order), then counts what it
    takes as reserved there, so a later line (of the same order or, in an import, of a later order)
    cannot plan the same stock again. [] when there is not enough; then nothing is taken."""
    plan = plan_reservation(qty, levels.get(product_id, []))
    if plan:
        taken = {level.id: take for level, take in plan}
        levels[product_id] = [lv._replace(reserved=lv.reserved + taken.get(lv.id, 0)) for lv in levels[product_id]]
    return plan


def _reserve(order: Order, order_lines: list[OrderLine], plans: list[list[tuple[Level, int]]], actor: str) -> None:
    movements = [Movement(line.product_id, level.location_id, "reserve", reserved_delta=qty,
                          order_line_id=line.id, reference=order.number, level_id=level.id)
                 for line, plan in zip(order_lines, plans) for level, qty in plan]
    apply_movements(movements, actor)


def approval_reasons(settings: Settings, priced: list[_Priced], total: int,
                     customer: Customer | None) -> list[str]:
    """Why an order must wait for a manager (empty: it can be confirmed at once)."""
    rules = settings.approval
    reasons = []
    if rules.max_amount_cents and total > rules.max_amount_cents:
        reasons.append(f"total {_money(total)} is above the approval limit {_money(rules.max_amount_cents)}")
    if (customer is not None and rules.first_order_amount_cents and total > rules.first_order_amount_cents
            and not Order.select().where((Order.customer == customer) & (Order.status != "cancelled")).exists()):
        reasons.append(f"first order of a new customer above {_money(rules.first_order_amount_cents)}")
    if rules.quantity_factor:
        for product, qty, _ in priced:
            if product.usual_qty and qty > rules.quantity_factor * product.usual_qty:
                reasons.append(f"{qty} × {product.sku} is far above its usual {product.usual_qty:.1f}")
    return reasons


_REFRESH_USUAL = (
    "UPDATE product SET usual_qty = (SELECT CASE WHEN COUNT(*) >= ? THEN AVG(ol.qty) END "
    "FROM order_line ol JOIN orders o ON o.id = ol.order_id "
    "WHERE ol.product_id = product.id AND o.status <> 'cancelled' AND o.created_at >= ?)")


def refresh_usual_quantities(settings: Settings) -> None:
    """Recomputes each product's usual quantity per line over the last 90 days (a scheduled job).

    Products with fewer than `approval.quantity_min_history` lines get none: the rule skips them.
    """
    since = utcnow() - timedelta(days=QUANTITY_HISTORY_DAYS)
    with write_transaction():
        sql.run(_REFRESH_USUAL, (settings.approval.quantity_min_history, since))


def _money(cents: int) -> str:
    return f"{cents / 100:.2f}"


# -- lifecycle --------------------------------------------------------------------------------

def transition(number: str, action: str, actor: str, *, carrier: str | None = None,
               tracking_number: str | None = None, note: str | None = None) -> Order:
    if action not in ACTIONS:
        raise BadRequest(f"Unknown order action {action!r}.")
    allowed, target, stamp = ACTIONS[action]
    with write_transaction():
        order = get_order(number)
        now = utcnow()
        fields: dict[str, Any] = {"status": target, stamp: now, "updated_at": now}
        if action == "ship":
            fields.update(carrier=carrier or None, tracking_number=tracking_number or None)
        claimed = (Order.update(**fields)
                   .where((Order.id == order.id) & Order.status.in_(allowed)).execute())
        if claimed != 1:
            current = Order.get_by_id(order.id).status
            raise IllegalTransition(number, current, action)
        _move_stock(order, action, actor)
        OrderEvent.create(order=order, from_status=order.status, to_status=target, actor=actor, at=now, note=note)
        audit.record(actor, f"order.{action}", "order", number, before={"status": order.status},
                     after={k: v for k, v in fields.items() if k != "updated_at"} | ({"note": note} if note else {}))
    return get_order(number)


def _move_stock(order: Order, action: str, actor: str) -> None:
    lines = list(OrderLine.select().where(OrderLine.order == order))
    line_ids = [line.id for line in lines]
    if action == "approve":
        _reserve(order, lines, _plan_all(lines), actor)
        return
    if action == "cancel" and order.status == "pending":
        return  # nothing was reserved yet
    if action in ("cancel", "ship"):
        held = line_allocations(line_ids, ("reserve", "release"), "reserved_delta")
        kind = "release" if action == "cancel" else "ship"
        on_hand = 0 if action == "cancel" else -1
        movements = [Movement(_product_of(lines, line_id), location_id, kind,
                              on_hand_delta=on_hand * qty, reserved_delta=-qty,
                              order_line_id=line_id, reference=order.number)
                     for line_id, by_location in held.items() for location_id, qty in by_location.items()]
        apply_movements(movements, actor)
    elif action == "return":
        # What is still out: shipped, less what came back already (a partial return at the counter).
        out = line_allocations(line_ids, ("ship", "return"), "on_hand_delta")
        movements = [Movement(_product_of(lines, line_id), location_id, "return", on_hand_delta=-qty,
                              order_line_id=line_id, reference=order.number)
                     for line_id, by_location in out.items() for location_id, qty in by_location.items() if qty < 0]
        apply_movements(movements, actor)


def _product_of(lines: list[OrderLine], line_id: int) -> int:
    return next(line.product_id for line in lines if line.id == line_id)


# -- payments and returns at the counter ------------------------------------------------------

PAYABLE = ("confirmed", "shipped", "delivered")


def _take_payments(order: Order, paid_with: list[payments.PaymentRequest], actor: str, *,
                   key: str | None = None, request_hash: str | None = None) -> None:
    """Records payments that settle what is due; a counter sale paid in full is handed over."""
    if order.status not in PAYABLE:
        why = ("waits for a manager's approval; it can be paid once approved" if order.status == "pending"
               else f"is {order.status}; it cannot be paid")
        raise Conflict(f"Order {order.number} {why}.", [{"number": order.number, "status": order.status, "action": "pay"}])
    money = getattr(order, "money", None) or payments.totals_of(order.id)
    payments.check_against_due(paid_with, order.total_cents - money["paid_cents"])
    payments.record(order, paid_with, actor, key=key, request_hash=request_hash)
    change = sum(p.change_cents for p in paid_with)
    order.money = {**money, "paid_cents": money["paid_cents"] + sum(p.amount_cents for p in paid_with),
                   "change_cents": change}
    paid = ", ".join(f"{p.method} {_money(p.amount_cents)}" for p in paid_with)
    if order.channel == payments.COUNTER_CHANNEL and order.status == "confirmed":
        _hand_over(order, actor, f"paid ({paid}) and handed over at the counter")
    else:
        OrderEvent.create(order=order.id, from_status=order.status, to_status=order.status, actor=actor,
                          at=utcnow(), note=f"paid: {paid}")


def _hand_over(order: Order, actor: str, note: str) -> None:
    """A paid counter sale ends here: its reserved stock is consumed (never shipped) and it is delivered."""
    now = utcnow()
    claimed = (Order.update(status="delivered", delivered_at=now, updated_at=now)
               .where((Order.id == order.id) & (Order.status == "confirmed")).execute())
    if claimed != 1:
        raise IllegalTransition(order.number, Order.get_by_id(order.id).status, "deliver")
    _move_stock(order, "ship", actor)
    OrderEvent.create(order=order.id, from_status="confirmed", to_status="delivered", actor=actor, at=now, note=note)
    audit.record(actor, "order.hand_over", "order", order.number, before={"status": "confirmed"},
                 after={"status": "delivered"})
    order.status, order.delivered_at, order.updated_at = "delivered", now, now


def pay_order(settings: Settings, number: str, paid_with: list[payments.PaymentRequest], actor: str,
              idempotency: Idempotency | None = None) -> tuple[dict, bool]:
    """Pays what is due on an order later; returns (answer, replayed). The same Idempotency-Key and
    payments again make no second payment: the answer is the first one's."""
    with write_transaction():
        order = get_order(number)
        if idempotency:
            done = payments.replayed(idempotency.key, idempotency.request_hash, order)
            if done is not None:
                data = order_dict(order, settings, with_events=True)
                return data | {"change_cents": sum(p.change_cents for p in done)}, True
        _take_payments(order, paid_with, actor, key=idempotency.key if idempotency else None,
                       request_hash=idempotency.request_hash if idempotency else None)
        change = order.money["change_cents"]
    return order_dict(get_order(number), settings, with_events=True) | {"change_cents": change}, False


RETURNABLE = ("shipped", "delivered")


def return_lines(settings: Settings, number: str, actor: str, *, lines: list[LineRequest] | None = None,
                 refund_cents: int = 0, refund_method: str | None = None, reason: str | None = None) -> dict:
    """Takes back some (or, without `lines`, all) of what an order handed over: the stock goes back
    to the locations it left, and `refund_cents` (at most what was paid and not yet refunded) is given
    back. The order is `returned` once everything is back."""
    with write_transaction():
        order = get_order(number)
        if order.status not in RETURNABLE:
            raise IllegalTransition(number, order.status, "return")
        order_lines = list(OrderLine.select(OrderLine, Product).join(Product).where(OrderLine.order == order)
                           .order_by(OrderLine.id))
        out = line_allocations([line.id for line in order_lines], ("ship", "return"), "on_hand_delta")
        still_out = {line.id: -sum(out.get(line.id, {}).values()) for line in order_lines}
        wanted = _returned_quantities(order_lines, still_out, lines)
        movements = []
        for line in order_lines:
            qty = wanted.get(line.id, 0)
            for location_id, delta in sorted(out.get(line.id, {}).items()):
                take = min(qty, -delta) if delta < 0 else 0
                if take:
                    movements.append(Movement(line.product_id, location_id, "return", on_hand_delta=take,
                                              order_line_id=line.id, reference=order.number))
                    qty -= take
        apply_movements(movements, actor)
        refund = None
        if refund_cents:
            method = refund_method or _last_method(order) or "cash"
            refund = payments.refund(order, refund_cents, method, reason, actor)
        everything_back = all(still_out[line.id] == wanted.get(line.id, 0) for line in order_lines)
        now = utcnow()
        target = "returned" if everything_back else order.status
        if everything_back:
            Order.update(status="returned", returned_at=now, updated_at=now).where(Order.id == order.id).execute()
        back = [[line.product.sku, wanted[line.id]] for line in order_lines if wanted.get(line.id)]
        note = "returned " + ", ".join(f"{qty} × {sku}" for sku, qty in back)
        if refund:
            note += f"; refunded {refund.method} {_money(refund.amount_cents)}"
        if reason:
            note += f": {reason}"
        OrderEvent.create(order=order, from_status=order.status, to_status=target, actor=actor, at=now, note=note[:2000])
        audit.record(actor, "order.return", "order", number, before={"status": order.status},
                     after={"status": target, "lines": back, "refund_cents": refund.amount_cents if refund else 0,
                            "refund_method": refund.method if refund else None, "reason": reason})
    return order_dict(get_order(number), settings, with_events=True)


def _returned_quantities(order_lines: list[OrderLine], still_out: dict[int, int],
                         lines: list[LineRequest] | None) -> dict[int, int]:
    """Per order line, how many come back; refused (422, naming the line) beyond what is still out."""
    if lines is None:
        wanted = {line_id: qty for line_id, qty in still_out.items() if qty > 0}
        if not wanted:
            raise Invalid("Everything on this order is back already.", [{"field": "lines", "message": "nothing to return"}])
        return wanted
    by_sku: dict[str, list[OrderLine]] = {}
    for line in order_lines:
        by_sku.setdefault(line.product.sku, []).append(line)
    wanted: dict[int, int] = {}
    details = []
    if not lines:
        details.append({"field": "lines", "message": "name at least one line"})
    for i, request in enumerate(lines):
        candidates = by_sku.get(request.sku.strip() if isinstance(request.sku, str) else request.sku)
        if not _is_count(request.qty) or request.qty <= 0:
            details.append({"field": f"lines[{i}].qty", "message": "must be a whole number above zero"})
            continue
        if not candidates:
            details.append({"field": f"lines[{i}].sku", "sku": request.sku, "message": "not on this order"})
            continue
        qty = request.qty
        for line in candidates:  # the same SKU on two lines (an imported order): fill them in turn
            take = min(qty, still_out[line.id] - wanted.get(line.id, 0))
            if take > 0:
                wanted[line.id] = wanted.get(line.id, 0) + take
                qty -= take
        if qty:
            returnable = request.qty - qty
            details.append({"field": f"lines[{i}].qty", "sku": request.sku,
                            "message": f"at most {returnable} can come back (sold less already returned)"})
    if details:
        raise Invalid("The return is not valid.", details)
    return wanted


def _last_method(order: Order) -> str | None:
    last = (Payment.select(Payment.method).where((Payment.order == order) & (Payment.kind == "payment"))
            .order_by(Payment.id.desc()).first())
    return last.method if last else None


# -- reading ----------------------------------------------------------------------------------

def get_order(number: str) -> Order:
    order = Order.get_or_none(Order.number == number)
    if order is None:
        raise NotFound(f"No order {number}.", [{"number": number}])
    return order


def is_overdue(order: Order, settings: Settings, now: datetime | None = None) -> bool:
    now = now or utcnow()
    limit = timedelta(hours=settings.orders.overdue_after_hours)
    return order.status == "confirmed" and order.confirmed_at is not None and now - order.confirmed_at > limit


def order_dict(order: Order, settings: Settings, *, lines: list[OrderLine] | None = None,
               with_events: bool = False) -> dict:
    if lines is None:
        lines = getattr(order, "new_lines", None) or list(
            OrderLine.select(OrderLine, Product).join(Product).where(OrderLine.order == order).order_by(OrderLine.id))
    data = {
        "number": order.number,
        "status": order.status,
        "channel": order.channel,
        "customer": customers.customer_summary(order.customer) if order.customer_id else None,
        "note": order.note,
        "total_cents": order.total_cents,
        "lines": [{"sku": line.product.sku, "name": line.product.name, "qty": line.qty,
                   "unit_price_cents": line.unit_price_cents, "line_total_cents": line.line_total_cents}
                  for line in lines],
        "pending_reasons": json.loads(order.pending_reasons or "[]"),
        "carrier": order.carrier,
        "tracking_number": order.tracking_number,
        "created_by": order.created_by,
        "epoch": order.epoch,
        "overdue": is_overdue(order, settings),
    }
    money = getattr(order, "money", None) or payments.totals_of(order.id)
    data.update(paid_cents=money["paid_cents"], refunded_cents=money["refunded_cents"],
                due_cents=max(order.total_cents - money["paid_cents"], 0), change_cents=money.get("change_cents", 0))
    for stamp in ("created_at", "confirmed_at", "shipped_at", "delivered_at", "cancelled_at", "returned_at"):
        value = getattr(order, stamp)
        data[stamp] = _iso(value)
    if with_events:
        data["events"] = [{"from": e.from_status, "to": e.to_status, "actor": e.actor, "at": _iso(e.at), "note": e.note}
                          for e in OrderEvent.select().where(OrderEvent.order == order).order_by(OrderEvent.id)]
        data["payments"] = payments.payments_of(order.id)
    return data


def _iso(value: datetime | None) -> str | None:
    return value.isoformat(timespec="seconds") + "Z" if value else None


@dataclass
class OrderFilters:
    status: str | None = None
    channel: str | None = None
    customer_id: int | None = None
    created_from: datetime | None = None
    created_to: datetime | None = None
    overdue: bool = False
    query: str | None = None  # order number or customer name/phone fragment


def list_orders(settings: Settings, filters: OrderFilters, *, limit: int = 50,
                cursor: str | None = None) -> tuple[list[dict], str | None]:
    """Newest first; returns (orders, next_cursor). The cursor is opaque (an encoded id)."""
    query = Order.select(Order, Customer).join(Customer, JOIN.LEFT_OUTER).switch(Order)
    query = _filtered(query, settings, filters)
    if cursor:
        query = query.where(Order.id < _decode_cursor(cursor))
    rows = list(query.order_by(Order.id.desc()).limit(limit + 1))
    page, more = rows[:limit], len(rows) > limit
    lines_by_order = lines_of([o.id for o in page])
    money = payments.totals_for([o.id for o in page])
    for o in page:
        o.money = money.get(o.id, {"paid_cents": 0, "refunded_cents": 0, "change_cents": 0})
    result = [order_dict(o, settings, lines=lines_by_order.get(o.id, [])) for o in page]
    return result, (_encode_cursor(page[-1].id) if more else None)


def lines_of(order_ids: list[int]) -> dict[int, list[OrderLine]]:
    """Lines (with their products) of several orders in one query."""
    by_order: dict[int, list[OrderLine]] = {}
    if order_ids:
        query = (OrderLine.select(OrderLine, Product).join(Product)
                 .where(OrderLine.order.in_(order_ids)).order_by(OrderLine.id))
        for line in query:
            by_order.setdefault(line.order_id, []).append(line)
    return by_order


def _filtered(query, settings: Settings, f: OrderFilters):
    if f.status:
        query = query.where(Order.status == f.status)
    if f.channel:
        query = query.where(Order.channel == f.channel)
    if f.customer_id:
        query = query.where(Order.customer == f.customer_id)
    if f.created_from:
        query = query.where(Order.created_at >= f.created_from)
    if f.created_to:
        query = query.where(Order.created_at < f.created_to)
    if f.overdue:
        cutoff = utcnow() - timedelta(hours=settings.orders.overdue_after_hours)
        query = query.where((Order.status == "confirmed") & (Order.confirmed_at < cutoff))
    if f.query:
        term = f.query.strip()
        query = query.where((Order.number == term) | (Customer.name.contains(term)) | (Customer.phone.contains(term)))
    return query


def _encode_cursor(order_id: int) -> str:
    return str(order_id)


def _decode_cursor(cursor: str) -> int:
    """The id of the last order of the previous page; a cursor of the older base64 form still works."""
    if cursor.isascii() and cursor.isdigit() and len(cursor) <= 18:
        return int(cursor)
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        prefix, value = raw.split(":", 1)
        if prefix != "o" or not (value.isascii() and value.isdigit()) or len(value) > 18:
            raise ValueError
        return int(value)
    except (ValueError, UnicodeDecodeError):
        raise Invalid("The cursor is not valid.", [{"field": "cursor", "message": "use next_cursor from a previous page"}]) from None


def overdue_orders(settings: Settings, now: datetime | None = None) -> list[Order]:
    """Confirmed orders not shipped within `orders.overdue_after_hours` (monitors alert on these)."""
    cutoff = (now or utcnow()) - timedelta(hours=settings.orders.overdue_after_hours)
    return list(Order.select().where((Order.status == "confirmed") & (Order.confirmed_at < cutoff))
                .order_by(Order.confirmed_at))


def stuck_pending(settings: Settings, now: datetime | None = None) -> list[Order]:
    """Orders waiting for approval longer than `orders.pending_stuck_after_hours`."""
    cutoff = (now or utcnow()) - timedelta(hours=settings.orders.pending_stuck_after_hours)
    return list(Order.select().where((Order.status == "pending") & (Order.created_at < cutoff))
                .order_by(Order.created_at))


def forget_old_idempotency_keys(settings: Settings) -> int:
    cutoff = utcnow() - timedelta(days=settings.orders.idempotency_key_days)
    payments.forget_old_keys(cutoff)
    return IdempotencyKey.delete().where(IdempotencyKey.created_at < cutoff).execute()
