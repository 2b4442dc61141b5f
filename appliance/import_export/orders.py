"""Orders file: one row per order line; the order's own columns repeat on each of its lines.

Imported orders keep their number, status and prices. `confirmed` orders reserve their stock (a row
error when there is not enough), `pending` ones reserve nothing until approved, and shipped, delivered,
cancelled and returned orders are history: they move no stock. An order whose number exists already
is skipped when identical and refused when different: an import never changes an existing order.

Each order is written by the domain's `orders.create_order` (`imported=`), like an order from the API
or the counter page: same reservation plan, same customer rule, same timeline and audit event. The
check before it plans the file's confirmed orders with the same `orders.plan_line`, so a shortage is a
row error rather than a refused write.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime

from peewee import JOIN

from .. import audit
from ..config import Settings
from ..customers import normalize_phone
from ..inventory import levels_for
from ..models import CHANNELS, ORDER_STATUSES, Customer, Order, OrderLine, Product
from ..orders import Imported, LineRequest, create_order, lines_of, own_number, plan_line
from .files import Money, Table
from .values import Columns, Problems, Row

KIND = "orders"
ORDER_COLUMNS = ("number", "created_at", "channel", "status", "customer_name", "customer_phone",
                 "customer_email", "note", "carrier", "tracking_number")
LINE_COLUMNS = ("sku", "qty", "unit_price")
COLUMNS = Columns(required=("number", "channel", "status", "sku", "qty", "unit_price"),
                  optional=("created_at", "customer_name", "customer_phone", "customer_email", "note",
                            "carrier", "tracking_number"),
                  layout=(*ORDER_COLUMNS[:8], *LINE_COLUMNS, "carrier", "tracking_number"))


@dataclass
class Line:
    row: int
    sku: str
    product_id: int
    qty: int
    unit_price_cents: int


@dataclass
class FileOrder:
    number: str
    first_row: int
    fields: dict                  # order columns -> parsed value (only columns present in the file)
    lines: list[Line] = field(default_factory=list)
    order_id: int | None = None   # set when the number is in this box's own numbering

    def write(self, settings: Settings, actor: str, filename: str) -> None:
        f = self.fields
        create_order(settings, channel=f["channel"], actor=actor, note=f.get("note"),
                     lines=[LineRequest(line.sku, line.qty, line.unit_price_cents) for line in self.lines],
                     customer=_customer(f),
                     imported=Imported(source=filename, number=self.number, status=f["status"],
                                       created_at=f.get("created_at"), order_id=self.order_id,
                                       carrier=f.get("carrier"), tracking_number=f.get("tracking_number")))


def _customer(fields: dict) -> dict | None:
    """The order's customer as contact data, matched (or created) by the domain's one rule."""
    if not fields.get("customer_name"):
        return None
    return {"name": fields["customer_name"], "phone": fields.get("customer_phone"),
            "email": fields.get("customer_email")}


@dataclass
class Plan:
    new: list[FileOrder]
    identical: list[str]
    settings: Settings

    @property
    def changes_anything(self) -> bool:
        return bool(self.new)

    def counts(self) -> dict[str, int]:
        return {"created": len(self.new), "already there": len(self.identical)}

    def write(self, actor: str, filename: str) -> None:
        # Orders in this box's own numbering first, with their ids, so automatic ids go after them.
        for order in sorted(self.new, key=lambda o: o.order_id is None):
            order.write(self.settings, actor, filename)
        audit.record(actor, "import.orders", "import", KIND, after={
            "file": filename, **self.counts(), "created": [o.number for o in self.new]})


# -- checking ---------------------------------------------------------------------------------

def plan(table: Table, problems: Problems, settings: Settings) -> Plan:
    products = {p.sku: p for p in Product.select(Product.id, Product.sku)}
    header = set(table.header)
    grouped: dict[str, FileOrder] = {}
    bad_numbers: set[str] = set()
    for number, values in table.rows:
        row = Row(number, values, problems)
        order_number = row.text("number", required=True, max_length=32)
        order = grouped.get(order_number)
        # An order's later lines may leave its own cells empty; its first line must fill them.
        fields = {"number": order_number, **_order_fields(row, header, first_line=order is None)}
        if order is not None:
            _check_same_order(row, order, fields)
        line = _line(row, products)
        if order_number is None:
            continue
        if order is None:
            order = grouped[order_number] = FileOrder(order_number, number, fields)
        if row.ok and line is not None:
            order.lines.append(line)
        else:
            bad_numbers.add(order_number)
    good = [o for n, o in grouped.items() if n not in bad_numbers]
    existing = _existing_orders([o.number for o in good])
    new, identical = [], []
    for order in good:
        if order.number in existing:
            if _compare_with_existing(order, existing[order.number], problems):
                identical.append(order.number)
        else:
            new.append(order)
    _assign_own_numbers(new, settings, problems)
    _check_stock_of_confirmed(new, problems)
    return Plan(new, identical, settings)


def _order_fields(row: Row, header: set[str], first_line: bool) -> dict:
    readers = {
        "created_at": row.moment,
        "channel": lambda c: row.choice(c, CHANNELS, required=first_line),
        "status": lambda c: row.choice(c, ORDER_STATUSES, required=first_line),
        "customer_name": lambda c: row.text(c, max_length=200),
        "customer_phone": lambda c: normalize_phone(row.text(c, max_length=40)),
        "customer_email": lambda c: _email(row, c),
        "note": row.text,
        "carrier": lambda c: row.text(c, max_length=64),
        "tracking_number": lambda c: row.text(c, max_length=128),
    }
    fields = {column: read(column) for column, read in readers.items() if column in header}
    if first_line and (fields.get("customer_phone") or fields.get("customer_email")) and not fields.get("customer_name"):
        row.error("customer_name", "is required when a customer phone or e-mail is given")
    return fields



def _email(row: Row, column: str) -> str | None:
    value = row.text(column, max_length=200)
    if value and "@" not in value:
        row.error(column, f"{value!r} is not an e-mail address")
        return None
    return value


def _line(row: Row, products: dict[str, Product]) -> Line | None:
    sku = row.text("sku", required=True)
    if sku and sku not in products:
        row.error("sku", f"unknown SKU {sku}")
    qty = row.whole("qty", minimum=1, required=True)
    unit_price = row.money("unit_price", required=True)
    if sku not in products or qty is None or unit_price is None:
        return None
    return Line(row.number, sku, products[sku].id, qty, unit_price)


def _check_same_order(row: Row, order: FileOrder, fields: dict) -> None:
    for column, value in fields.items():
        if column != "number" and value != order.fields.get(column) and row.raw(column) != "":
            row.error(column, f"differs from row {order.first_row} of the same order {order.number}")


def _existing_orders(numbers: list[str]) -> dict[str, Order]:
    found = {}
    for start in range(0, len(numbers), 500):
        query = (Order.select(Order, Customer).join(Customer, JOIN.LEFT_OUTER, on=(Order.customer == Customer.id))
                 .where(Order.number.in_(numbers[start:start + 500])))
        found.update({o.number: o for o in query})
    return found


def _compare_with_existing(order: FileOrder, existing: Order, problems: Problems) -> bool:
    """True when the file says what the box already has; else a row error naming the first difference."""
    ours = _as_file_fields(existing)
    for column, value in order.fields.items():
        if column == "created_at" and value is None:
            continue  # not given: any time matches
        if value != ours[column]:
            problems.add(order.first_row, column, f"order {order.number} already exists with a different "
                                                  f"{column}; an import does not change existing orders")
            return False
    theirs = sorted((line.sku, line.qty, line.unit_price_cents) for line in order.lines)
    if theirs != sorted(ours["lines"]):
        problems.add(order.first_row, "sku", f"order {order.number} already exists with different lines; "
                                             "an import does not change existing orders")
        return False
    return True


def _as_file_fields(order: Order) -> dict:
    customer = order.customer if order.customer_id else None
    lines = lines_of([order.id]).get(order.id, [])
    return {
        "number": order.number, "created_at": _seconds(order.created_at), "channel": order.channel,
        "status": order.status, "customer_name": customer.name if customer else None,
        "customer_phone": customer.phone if customer else None,
        "customer_email": customer.email if customer else None,
        "note": order.note, "carrier": order.carrier, "tracking_number": order.tracking_number,
        "lines": [(line.product.sku, line.qty, line.unit_price_cents) for line in lines],
    }


def _seconds(moment: datetime) -> datetime:
    """Files carry whole seconds."""
    return moment.replace(microsecond=0)


def _assign_own_numbers(new: list[FileOrder], settings: Settings, problems: Problems) -> None:
    """A number shaped like this box's own ('SO-000042' = prefix + id) must get that id, or the box
    would hand out the same number again when it creates order 42."""
    prefix = settings.orders.number_prefix
    pattern = re.compile(re.escape(prefix) + r"(\d+)")
    claimed: dict[int, str] = {}
    for order in new:
        match = pattern.fullmatch(order.number)
        if not match or own_number(settings, int(match.group(1))) != order.number or int(match.group(1)) == 0:
            continue
        order_id = int(match.group(1))
        if order_id in claimed or Order.select().where(Order.id == order_id).exists():
            problems.add(order.first_row, "number", f"{order.number} is in this box's own numbering and that "
                                                    "number is taken here; give the order another number")
            continue
        claimed[order_id] = order.number
        order.order_id = order_id


def _check_stock_of_confirmed(new: list[FileOrder], problems: Problems) -> None:
    """Plans each confirmed order's reservations in file order, as the writes will (orders.plan_line
    over the stock there is, each line taking what it plans), so a line that cannot be reserved is a
    row error now."""
    confirmed = [o for o in new if o.fields["status"] == "confirmed"]
    levels = levels_for({line.product_id for o in confirmed for line in o.lines})
    for order in confirmed:
        for line in order.lines:
            available = sum(max(lv.on_hand - lv.reserved, 0) for lv in levels.get(line.product_id, []))
            if not plan_line(levels, line.product_id, line.qty):
                problems.add(line.row, "qty", f"not enough stock of {line.sku} to reserve for a confirmed order: "
                                              f"{line.qty} wanted, {available} available")


# -- export -----------------------------------------------------------------------------------

def export_rows(settings=None) -> tuple[list[str], list[list]]:
    query = (Order.select(Order, Customer).join(Customer, JOIN.LEFT_OUTER, on=(Order.customer == Customer.id))
             .order_by(Order.id))
    rows, last_id = [], 0
    while True:  # pages of 500 orders, so a large history does not load all at once
        page = list(query.where(Order.id > last_id).limit(500))
        if not page:
            return COLUMNS.export_order, rows
        lines = lines_of([o.id for o in page])
        rows += [_export_row(order, line) for order in page for line in lines.get(order.id, [])]
        last_id = page[-1].id


def _export_row(order: Order, line: OrderLine) -> list:
    customer = order.customer if order.customer_id else None
    return [order.number, order.created_at.isoformat(timespec="seconds") + "Z", order.channel, order.status,
            customer.name if customer else None, customer.phone if customer else None,
            customer.email if customer else None, order.note, line.product.sku, line.qty,
            Money(line.unit_price_cents), order.carrier, order.tracking_number]
