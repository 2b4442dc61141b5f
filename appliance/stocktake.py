"""Stocktake: a count session per location; counts show variances and post as adjustments in one go."""
from __future__ import annotations

from peewee import fn

from . import audit
from .db import write_transaction
from .errors import Conflict, Invalid, NotFound
from .inventory import Movement, apply_movements, location_by_code, product_by_code
from .models import (Location, Order, OrderLine, Product, StockLevel, StockMovement, StocktakeCount,
                     StocktakeSession, utcnow)

MAX_REASON = 500


def open_session(location_code: str, actor: str) -> StocktakeSession:
    location = location_by_code(location_code)
    with write_transaction():
        if StocktakeSession.select().where((StocktakeSession.location == location)
                                           & (StocktakeSession.status == "open")).exists():
            raise Conflict(f"A stocktake of {location.code} is already open.")
        session = StocktakeSession.create(location=location, created_by=actor)
        audit.record(actor, "stocktake.open", "stocktake", session.id, after={"location": location.code})
    return session


def get_session(session_id: int) -> StocktakeSession:
    session = StocktakeSession.get_or_none(StocktakeSession.id == session_id)
    if session is None:
        raise NotFound(f"No stocktake {session_id}.")
    return session


def _require_open(session: StocktakeSession) -> None:
    if session.status != "open":
        raise Conflict(f"Stocktake {session.id} is {session.status}.", [{"status": session.status}])


def record_count(session_id: int, code: str, counted: int, actor: str) -> StocktakeCount:
    """Sets (not adds) the counted quantity of a product; counting again replaces the number."""
    if not isinstance(counted, int) or counted < 0:
        raise Invalid("A count must be a whole number, zero or more.", [{"field": "counted", "message": "invalid"}])
    product = product_by_code(code)
    if product is None:
        raise NotFound(f"No product with SKU or barcode {code}.", [{"sku": code}])
    with write_transaction():
        session = get_session(session_id)
        _require_open(session)
        row = StocktakeCount.get_or_none((StocktakeCount.session == session) & (StocktakeCount.product == product))
        if row is None:
            row = StocktakeCount.create(session=session, product=product, counted=counted, counted_by=actor)
        else:
            StocktakeCount.update(counted=counted, counted_by=actor, counted_at=utcnow()).where(
                StocktakeCount.id == row.id).execute()
        audit.record(actor, "stocktake.count", "stocktake", session.id, after={"sku": product.sku, "counted": counted})
    return row


def variances(session_id: int) -> list[dict]:
    """Each counted product: expected (on hand now; for a posted stocktake, on hand when it was posted,
    as kept then), counted, variance (counted - expected), reserved now, and who counted it.
    `on_hand` repeats `expected` for clients written before it was kept."""
    session = get_session(session_id)
    counts = (StocktakeCount.select(StocktakeCount, Product).join(Product)
              .where(StocktakeCount.session == session).order_by(Product.sku))
    levels = {lv.product_id: lv for lv in StockLevel.select().where(StockLevel.location == session.location_id)}
    rows = []
    for count in counts:
        level = levels.get(count.product_id)
        expected = count.expected if count.expected is not None else (level.on_hand if level else 0)
        rows.append({"sku": count.product.sku, "name": count.product.name, "expected": expected, "on_hand": expected,
                     "reserved": level.reserved if level else 0, "counted": count.counted,
                     "variance": count.counted - expected, "counted_by": count.counted_by})
    return rows


def uncounted(session_id: int) -> list[dict]:
    """Active products stocked at the stocktake's location (a stock level there, on hand or reserved)
    that nobody has counted in it: what a count that stopped early would silently leave as it is."""
    session = get_session(session_id)
    counted = StocktakeCount.select(StocktakeCount.product).where(StocktakeCount.session == session)
    rows = (StockLevel.select(Product.sku, Product.name, StockLevel.on_hand, StockLevel.reserved)
            .join(Product)
            .where((StockLevel.location == session.location_id) & Product.active
                   & ((StockLevel.on_hand != 0) | (StockLevel.reserved != 0)) & StockLevel.product.not_in(counted))
            .order_by(Product.sku).dicts())
    return [{"sku": r["sku"], "name": r["name"], "expected": r["on_hand"], "reserved": r["reserved"]} for r in rows]


def reserving_orders(location_id: int, product_ids: list[int]) -> dict[int, list[str]]:
    """Per product, the numbers of the orders holding a reservation of it at this location (the ledger's
    reserve/release rows of their lines still add up to more than nothing)."""
    if not product_ids:
        return {}
    held = (StockMovement.select(OrderLine.product, Order.number)
            .join(OrderLine, on=(StockMovement.order_line == OrderLine.id)).join(Order)
            .where((StockMovement.location == location_id) & OrderLine.product.in_(product_ids))
            .group_by(OrderLine.product, Order.number)
            .having(fn.SUM(StockMovement.reserved_delta) > 0).order_by(Order.number).tuples())
    result: dict[int, list[str]] = {}
    for product_id, number in held:
        result.setdefault(product_id, []).append(number)
    return result


def shortfalls(session_id: int) -> list[dict]:
    """The counted products whose count is below what open orders reserve at the location, with those
    orders: shown as soon as such a count is entered, and what posting would refuse."""
    session = get_session(session_id)
    rows = [r for r in variances(session_id) if r["counted"] < r["reserved"]]
    if not rows:
        return []
    ids = {p.sku: p.id for p in Product.select(Product.id, Product.sku).where(Product.sku.in_([r["sku"] for r in rows]))}
    orders = reserving_orders(session.location_id, list(ids.values()))
    return [{"sku": r["sku"], "counted": r["counted"], "reserved": r["reserved"], "orders": orders.get(ids[r["sku"]], [])}
            for r in rows]


def check_reason(reason: str | None) -> str:
    """A stocktake's variances change the books: posting them says why (issue 13)."""
    reason = (reason or "").strip()
    if not reason:
        raise Invalid("Say why the variances are posted (e.g. monthly count).", [{"field": "reason", "message": "required"}])
    if len(reason) > MAX_REASON:
        raise Invalid(f"A reason is at most {MAX_REASON} characters.", [{"field": "reason", "message": "too long"}])
    return reason


def post(session_id: int, actor: str, reason: str | None = None) -> list[dict]:
    """Posts every variance as a stocktake adjustment, all or nothing, keeping each line's expected
    quantity so the posted stocktake still shows what it corrected. `reason` is stored with it and in
    the audit event; the web form requires one, the API may leave it out.

    A count below what is reserved is refused: those orders must be dealt with first, since stock
    promised to a customer cannot silently vanish.
    """
    reason = check_reason(reason) if reason is not None else None
    with write_transaction():
        session = get_session(session_id)
        _require_open(session)
        rows = variances(session_id)
        short = [r for r in rows if r["counted"] < r["reserved"]]
        if short:
            raise Conflict("Some counts are below the stock reserved for orders; resolve those orders first.",
                           [{"sku": r["sku"], "counted": r["counted"], "reserved": r["reserved"]} for r in short])
        products = {p.sku: p.id for p in Product.select().where(Product.sku.in_([r["sku"] for r in rows]))}
        for r in rows:
            StocktakeCount.update(expected=r["expected"]).where(
                (StocktakeCount.session == session.id) & (StocktakeCount.product == products[r["sku"]])).execute()
        apply_movements([Movement(products[r["sku"]], session.location_id, "stocktake", on_hand_delta=r["variance"],
                                  reference=f"stocktake {session.id}") for r in rows if r["variance"]], actor)
        claimed = StocktakeSession.update(status="posted", posted_by=actor, posted_at=utcnow(), reason=reason).where(
            (StocktakeSession.id == session.id) & (StocktakeSession.status == "open")).execute()
        if claimed != 1:
            raise Conflict(f"Stocktake {session.id} was posted or cancelled meanwhile.")
        audit.record(actor, "stocktake.post", "stocktake", session.id,
                     after={"variances": {r["sku"]: r["variance"] for r in rows if r["variance"]}, "reason": reason})
    return rows


def cancel(session_id: int, actor: str) -> None:
    with write_transaction():
        claimed = StocktakeSession.update(status="cancelled").where(
            (StocktakeSession.id == session_id) & (StocktakeSession.status == "open")).execute()
        if claimed != 1:
            session = get_session(session_id)
            _require_open(session)
        audit.record(actor, "stocktake.cancel", "stocktake", session_id)


def session_dict(session: StocktakeSession) -> dict:
    location = Location.get_by_id(session.location_id)
    return {"id": session.id, "location": location.code, "status": session.status,
            "created_by": session.created_by, "created_at": session.created_at.isoformat(timespec="seconds") + "Z",
            "posted_by": session.posted_by,
            "posted_at": session.posted_at.isoformat(timespec="seconds") + "Z" if session.posted_at else None,
            "reason": session.reason, "lines": variances(session.id),
            "uncounted": uncounted(session.id) if session.status == "open" else [],
            "shortfalls": shortfalls(session.id) if session.status == "open" else []}
