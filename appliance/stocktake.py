"""Stocktake: a count session per location; counts show variances and post as adjustments in one go."""
from __future__ import annotations

from . import audit
from .db import write_transaction
from .errors import Conflict, Invalid, NotFound
from .inventory import Movement, apply_movements, location_by_code, product_by_code
from .models import Location, Product, StockLevel, StocktakeCount, StocktakeSession, utcnow


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
    """Each counted product: on hand now, counted, variance (counted - on hand), reserved."""
    session = get_session(session_id)
    counts = (StocktakeCount.select(StocktakeCount, Product).join(Product)
              .where(StocktakeCount.session == session).order_by(Product.sku))
    levels = {lv.product_id: lv for lv in StockLevel.select().where(StockLevel.location == session.location_id)}
    rows = []
    for count in counts:
        level = levels.get(count.product_id)
        on_hand = level.on_hand if level else 0
        rows.append({"sku": count.product.sku, "name": count.product.name, "on_hand": on_hand,
                     "reserved": level.reserved if level else 0, "counted": count.counted,
                     "variance": count.counted - on_hand})
    return rows


def post(session_id: int, actor: str) -> list[dict]:
    """Posts every variance as a stocktake adjustment, all or nothing.

    A count below what is reserved is refused: those orders must be dealt with first, since stock
    promised to a customer cannot silently vanish.
    """
    with write_transaction():
        session = get_session(session_id)
        _require_open(session)
        rows = variances(session_id)
        short = [r for r in rows if r["counted"] < r["reserved"]]
        if short:
            raise Conflict("Some counts are below the stock reserved for orders; resolve those orders first.",
                           [{"sku": r["sku"], "counted": r["counted"], "reserved": r["reserved"]} for r in short])
        products = {p.sku: p.id for p in Product.select().where(Product.sku.in_([r["sku"] for r in rows]))}
        apply_movements([Movement(products[r["sku"]], session.location_id, "stocktake", on_hand_delta=r["variance"],
                                  reference=f"stocktake {session.id}") for r in rows if r["variance"]], actor)
        claimed = StocktakeSession.update(status="posted", posted_by=actor, posted_at=utcnow()).where(
            (StocktakeSession.id == session.id) & (StocktakeSession.status == "open")).execute()
        if claimed != 1:
            raise Conflict(f"Stocktake {session.id} was posted or cancelled meanwhile.")
        audit.record(actor, "stocktake.post", "stocktake", session.id,
                     after={"variances": {r["sku"]: r["variance"] for r in rows if r["variance"]}})
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
            "lines": variances(session.id)}
