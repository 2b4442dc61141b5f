"""Products, locations, stock levels and the append-only stock ledger.

Every stock change goes through `apply_movements`: a conditional UPDATE that proceeds only if the
level stays valid (available = on_hand - reserved never below zero) plus one ledger row, so the
levels always equal the ledger's sums (`ledger_mismatches` checks it).
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Iterable, NamedTuple

from peewee import JOIN, fn

from . import audit, sql
from .db import write_transaction
from .errors import Conflict, InsufficientStock, Invalid, NotFound
from .limits import MAX_MOVE_QTY, MAX_ON_HAND, MAX_PRICE_CENTS
from .models import Location, Product, StockLevel, StockMovement, utcnow

PRODUCT_FIELDS = ("sku", "barcode", "name", "price_cents", "cost_cents", "reorder_point", "reorder_qty", "active")
DEFAULT_LOCATION = "floor"
# A SKU is one URL path segment (/api/v1/products/<sku>): letters, digits, ".", "_" and "-", no "/".
# Products made before this rule keep their SKU; the API reaches them too (a path route).
SKU_PATTERN = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")
_LIMITS = {"price_cents": MAX_PRICE_CENTS, "cost_cents": MAX_PRICE_CENTS,
           "reorder_point": MAX_ON_HAND, "reorder_qty": MAX_ON_HAND}


@dataclass(frozen=True)
class Movement:
    product_id: int
    location_id: int
    kind: str
    on_hand_delta: int = 0
    reserved_delta: int = 0
    order_line_id: int | None = None
    reference: str | None = None
    level_id: int | None = None  # when the caller already knows it (saves a lookup)


class Level(NamedTuple):
    """A stock level as read for planning (plain tuple: cheaper than a model on the hot path)."""
    id: int
    product_id: int
    location_id: int
    on_hand: int
    reserved: int


# -- products ---------------------------------------------------------------------------------

def product_by_sku(sku: str) -> Product:
    product = Product.get_or_none(Product.sku == sku)
    if product is None:
        raise NotFound(f"No product with SKU {sku}.", [{"sku": sku}])
    return product


def product_by_code(code: str) -> Product | None:
    """A scanned code: barcode first, then SKU."""
    return (Product.get_or_none(Product.barcode == code)
            or Product.get_or_none(Product.sku == code))


def product_dict(product: Product) -> dict:
    return {field: getattr(product, field) for field in PRODUCT_FIELDS}


def check_sku(sku: str) -> None:
    if not isinstance(sku, str) or not SKU_PATTERN.fullmatch(sku):
        raise Invalid(f"SKU {sku!r} is not valid: use 1-64 letters, digits, '.', '_' or '-', starting with a "
                      "letter or digit (no '/').", [{"field": "sku", "message": "not a valid SKU"}])


def check_product_fields(data: dict) -> None:
    """Money and quantities of a product within appliance.limits; None for a field that needs a value."""
    for field, high in _LIMITS.items():
        if field not in data:
            continue
        value = data[field]
        if not isinstance(value, int) or isinstance(value, bool) or not 0 <= value <= high:
            raise Invalid(f"{field} must be a whole number from 0 to {high}.",
                          [{"field": field, "message": f"must be 0-{high}"}])
    for field in ("name", "active"):
        if field in data and data[field] is None:
            raise Invalid(f"{field} cannot be null.", [{"field": field, "message": "must not be null"}])
    if "barcode" in data:  # a blank barcode is none (two products without one must not collide on "")
        data["barcode"] = (data["barcode"] or "").strip() or None


def create_product(data: dict, actor: str) -> Product:
    check_sku(data.get("sku"))
    check_product_fields(data)
    with write_transaction():
        if Product.select().where(Product.sku == data["sku"]).exists():
            raise Conflict(f"A product with SKU {data['sku']} already exists.", [{"sku": data["sku"]}])
        _check_barcode_free(data.get("barcode"), None)
        product = Product.create(**{k: v for k, v in data.items() if k in PRODUCT_FIELDS})
        audit.record(actor, "product.create", "product", product.sku, after=product_dict(product))
    return product


def update_product(sku: str, changes: dict, actor: str) -> Product:
    check_product_fields(changes)
    with write_transaction():
        product = product_by_sku(sku)
        before = product_dict(product)
        if "barcode" in changes:
            _check_barcode_free(changes["barcode"], product.id)
        for field, value in changes.items():
            if field in PRODUCT_FIELDS and field != "sku":
                setattr(product, field, value)
        product.updated_at = utcnow()
        product.save()
        audit.record(actor, "product.update", "product", sku, before=before, after=product_dict(product))
    return product


def _check_barcode_free(barcode: str | None, own_id: int | None) -> None:
    if not barcode:
        return
    other = Product.get_or_none(Product.barcode == barcode)
    if other is not None and other.id != own_id:
        raise Conflict(f"Barcode {barcode} already belongs to {other.sku}.", [{"barcode": barcode}])


# -- locations --------------------------------------------------------------------------------

def location_by_code(code: str | None) -> Location:
    code = code or DEFAULT_LOCATION
    location = Location.get_or_none(Location.code == code)
    if location is None:
        raise NotFound(f"No location {code}.", [{"location": code}])
    return location


def create_location(code: str, name: str, pick_order: int, actor: str) -> Location:
    with write_transaction():
        if Location.select().where(Location.code == code).exists():
            raise Conflict(f"Location {code} already exists.")
        location = Location.create(code=code, name=name, pick_order=pick_order)
        audit.record(actor, "location.create", "location", code, after={"name": name, "pick_order": pick_order})
    return location


# -- stock levels -----------------------------------------------------------------------------

def stock_summary(product: Product) -> dict:
    levels = (StockLevel.select(StockLevel, Location)
              .join(Location).where(StockLevel.product == product)
              .order_by(Location.pick_order, Location.code))
    locations = [{"location": lv.location.code, "on_hand": lv.on_hand, "reserved": lv.reserved,
                  "available": lv.on_hand - lv.reserved} for lv in levels]
    on_hand = sum(loc["on_hand"] for loc in locations)
    reserved = sum(loc["reserved"] for loc in locations)
    return {"sku": product.sku, "on_hand": on_hand, "reserved": reserved,
            "available": on_hand - reserved, "locations": locations}


def available_by_product(product_ids: Iterable[int]) -> dict[int, int]:
    ids = list(product_ids)
    if not ids:
        return {}
    rows = (StockLevel.select(StockLevel.product, fn.SUM(StockLevel.on_hand - StockLevel.reserved).alias("available"))
            .join(Location).where(StockLevel.product.in_(ids) & Location.active)
            .group_by(StockLevel.product).tuples())
    found = {product_id: int(available) for product_id, available in rows}
    return {pid: found.get(pid, 0) for pid in ids}


def _level_ids(movements: list[Movement]) -> dict[tuple[int, int], int]:
    """Stock level ids for the movements' (product, location) pairs, creating missing levels."""
    known = {(m.product_id, m.location_id): m.level_id for m in movements if m.level_id is not None}
    missing = {(m.product_id, m.location_id) for m in movements} - known.keys()
    if missing:
        product_ids = sorted({p for p, _ in missing})
        for level_id, product_id, location_id in sql.rows(
                f"SELECT id, product_id, location_id FROM stock_level WHERE product_id IN ({sql.in_list(len(product_ids))})",
                product_ids):
            if (product_id, location_id) in missing:
                known[(product_id, location_id)] = level_id
        for product_id, location_id in missing - known.keys():
            known[(product_id, location_id)] = StockLevel.create(
                product=product_id, location=location_id, on_hand=0, reserved=0).id
    return known


_CHANGE_LEVEL = ("UPDATE stock_level SET on_hand = on_hand + ?, reserved = reserved + ? "
                 "WHERE id = ? AND (on_hand + ?) - (reserved + ?) >= 0 AND reserved + ? >= 0 "
                 f"AND (? <= 0 OR on_hand + ? <= {MAX_ON_HAND})")  # only growth is capped (appliance.limits)
_LEDGER_COLUMNS = ("product_id, location_id, kind, on_hand_delta, reserved_delta, "
                   "order_line_id, reference, actor, created_at")


def apply_movements(movements: list[Movement], actor: str) -> None:
    """Applies each movement with a conditional UPDATE and appends it to the ledger.

    Raises InsufficientStock if a level would go invalid (the caller's transaction rolls back).
    Must run inside a write transaction.
    """
    if not movements:
        return
    level_ids = _level_ids(movements)
    # Lock the level rows in one global order (by id): on PostgreSQL two orders naming the same
    # products in opposite line order could otherwise deadlock.
    for m in sorted(movements, key=lambda m: level_ids[(m.product_id, m.location_id)]):
        level_id = level_ids[(m.product_id, m.location_id)]
        dh, dr = m.on_hand_delta, m.reserved_delta
        if sql.run(_CHANGE_LEVEL, (dh, dr, level_id, dh, dr, dr, dh, dh)).rowcount != 1:
            _raise_short(m, level_id)
    now = utcnow()
    sql.run(f"INSERT INTO stock_movement ({_LEDGER_COLUMNS}) VALUES {sql.values_list(len(movements), 9)}",
            [value for m in movements for value in (
                m.product_id, m.location_id, m.kind, m.on_hand_delta, m.reserved_delta,
                m.order_line_id, m.reference, actor, now)])


def _raise_short(m: Movement, level_id: int) -> None:
    product = Product.get_by_id(m.product_id)
    level = StockLevel.get_by_id(level_id)
    if m.on_hand_delta > 0 and level.on_hand + m.on_hand_delta > MAX_ON_HAND:  # the level's state: a conflict
        raise Conflict(f"{product.sku} at {level.location.code} would hold more than {MAX_ON_HAND} units.",
                      [{"field": "qty", "sku": product.sku, "location": level.location.code,
                        "on_hand": level.on_hand, "message": f"on hand at most {MAX_ON_HAND}"}])
    raise InsufficientStock(
        f"Not enough stock of {product.sku} at {level.location.code}.",
        [{"sku": product.sku, "location": level.location.code,
          "available": level.on_hand - level.reserved,
          "requested": -(m.on_hand_delta - m.reserved_delta)}])


def receive(sku: str, qty: int, actor: str, location: str | None = None, reference: str | None = None) -> dict:
    _positive(qty)
    with write_transaction():
        product = product_by_sku(sku)
        loc = location_by_code(location)
        apply_movements([Movement(product.id, loc.id, "receive", on_hand_delta=qty, reference=reference)], actor)
        audit.record(actor, "stock.receive", "product", sku, after={"qty": qty, "location": loc.code, "reference": reference})
        return stock_summary(product)


def adjust(sku: str, delta: int, actor: str, reason: str, location: str | None = None) -> dict:
    """A correction of on_hand (damage, theft, found stock). It cannot take stock that is reserved."""
    if delta == 0:
        raise Invalid("An adjustment must change the quantity.", [{"field": "qty", "message": "must not be 0"}])
    if not -MAX_MOVE_QTY <= delta <= MAX_MOVE_QTY:
        raise Invalid(f"An adjustment changes at most {MAX_MOVE_QTY} units.", [{"field": "qty", "message": "too large"}])
    if not reason or not reason.strip():
        raise Invalid("An adjustment needs a reason.", [{"field": "reason", "message": "required"}])
    with write_transaction():
        product = product_by_sku(sku)
        loc = location_by_code(location)
        apply_movements([Movement(product.id, loc.id, "adjust", on_hand_delta=delta, reference=reason[:200])], actor)
        audit.record(actor, "stock.adjust", "product", sku, after={"qty": delta, "location": loc.code, "reason": reason})
        return stock_summary(product)


def _positive(qty: int) -> None:
    if not isinstance(qty, int) or isinstance(qty, bool) or not 0 < qty <= MAX_MOVE_QTY:
        raise Invalid(f"Quantity must be a whole number from 1 to {MAX_MOVE_QTY}.",
                      [{"field": "qty", "message": f"must be 1-{MAX_MOVE_QTY}"}])


def plan_reservation(qty: int, levels: list[Level]) -> list[tuple[Level, int]]:
    """Splits a quantity over locations in pick order: [(level, qty), …]; [] if not enough."""
    plan, remaining = [], qty
    for level in levels:
        take = min(level.on_hand - level.reserved, remaining)
        if take > 0:
            plan.append((level, take))
            remaining -= take
        if remaining == 0:
            return plan
    return []


_LEVELS_IN_PICK_ORDER = (
    "SELECT sl.id, sl.product_id, sl.location_id, sl.on_hand, sl.reserved FROM stock_level sl "
    "JOIN location l ON l.id = sl.location_id WHERE sl.product_id IN ({}) AND l.active "
    "ORDER BY sl.product_id, l.pick_order, l.id")


def levels_for(product_ids: Iterable[int]) -> dict[int, list[Level]]:
    """Stock levels at active locations, in pick order, for several products in one query."""
    ids = list(product_ids)
    by_product: dict[int, list[Level]] = {}
    if ids:
        for row in sql.rows(_LEVELS_IN_PICK_ORDER.format(sql.in_list(len(ids))), ids):
            level = Level(*row)
            by_product.setdefault(level.product_id, []).append(level)
    return by_product


def line_allocations(order_line_ids: Iterable[int], kinds: tuple[str, ...], field: str) -> dict[int, dict[int, int]]:
    """Per order line and location, the summed ledger delta of `field` for `kinds`."""
    ids = list(order_line_ids)
    column = getattr(StockMovement, field)
    rows = (StockMovement.select(StockMovement.order_line, StockMovement.location, fn.SUM(column))
            .where(StockMovement.order_line.in_(ids) & StockMovement.kind.in_(kinds))
            .group_by(StockMovement.order_line, StockMovement.location).tuples())
    result: dict[int, dict[int, int]] = {}
    for line_id, location_id, total in rows:
        if total:
            result.setdefault(line_id, {})[location_id] = int(total)
    return result


def ledger_mismatches() -> list[dict]:
    """Stock levels whose on_hand/reserved differ from the ledger's sums (should be none)."""
    sums = (StockMovement.select(StockMovement.product.alias("product_id"),
                                 StockMovement.location.alias("location_id"),
                                 fn.SUM(StockMovement.on_hand_delta).alias("ledger_on_hand"),
                                 fn.SUM(StockMovement.reserved_delta).alias("ledger_reserved"))
            .group_by(StockMovement.product, StockMovement.location).alias("sums"))
    query = (StockLevel.select(Product.sku, Location.code.alias("location"),
                               StockLevel.on_hand, StockLevel.reserved,
                               sums.c.ledger_on_hand, sums.c.ledger_reserved)
             .join(Product, on=(StockLevel.product == Product.id))
             .switch(StockLevel).join(Location, on=(StockLevel.location == Location.id))
             .switch(StockLevel)
             .join(sums, JOIN.LEFT_OUTER, on=((sums.c.product_id == StockLevel.product)
                                               & (sums.c.location_id == StockLevel.location)))
             .dicts())
    bad = []
    for row in query:
        ledger = (int(row["ledger_on_hand"] or 0), int(row["ledger_reserved"] or 0))
        if ledger != (row["on_hand"], row["reserved"]):
            bad.append({"sku": row["sku"], "location": row["location"],
                        "on_hand": row["on_hand"], "reserved": row["reserved"],
                        "ledger_on_hand": ledger[0], "ledger_reserved": ledger[1]})
    return bad
