"""A small shop with every kind of data an import or export touches, and ways to compare databases."""
from __future__ import annotations

from contextlib import contextmanager
from pathlib import Path

from appliance import audit, config, runtime
from appliance.customers import customer_summary
from appliance.inventory import create_location, create_product, ledger_mismatches, receive
from appliance.models import CORE_MODELS, AuditEvent, Order, OrderLine, Product, StockLevel, StockMovement
from appliance.orders import LineRequest, create_order, transition
from appliance.schema import migrate

from ..conftest import make_home

ACTOR = "test"


def stock_a_shop(settings) -> None:
    """Products (one inactive, one with a leading-zero barcode), stock at two locations, and an
    order in every status, with and without customers."""
    create_location("back", "Back room", 20, ACTOR)
    create_product({"sku": "TEA", "barcode": "0012345", "name": "Green tea, 100 g", "price_cents": 350,
                    "cost_cents": 120, "reorder_point": 5, "reorder_qty": 20}, ACTOR)
    create_product({"sku": "MUG", "name": "Mug «Café»", "price_cents": 1299}, ACTOR)
    create_product({"sku": "OLD", "name": "Retired kettle", "price_cents": 2500, "active": False}, ACTOR)
    create_product({"sku": "SOFA", "name": "Sofa", "price_cents": 150_000}, ACTOR)
    receive("TEA", 10, ACTOR)
    receive("TEA", 6, ACTOR, location="back")
    receive("MUG", 8, ACTOR)
    receive("SOFA", 2, ACTOR, location="back")
    ann = {"name": "Ann Lee", "phone": "+44 20 7946 0000", "email": "ann@example.com"}
    confirmed = order(settings, [("TEA", 12), ("MUG", 1)], customer=ann)     # reserves over two locations
    order(settings, [("SOFA", 1)])                                          # pending: above the limit
    shipped = order(settings, [("MUG", 2)], customer={"name": "Bob"})
    transition(shipped, "ship", ACTOR, carrier="DHL", tracking_number="JD0001")
    delivered = order(settings, [("TEA", 1)], customer=ann, note="leave at the door")
    transition(delivered, "ship", ACTOR, carrier="UPS", tracking_number="1Z999")
    transition(delivered, "deliver", ACTOR)
    cancelled = order(settings, [("MUG", 1)])
    transition(cancelled, "cancel", ACTOR)
    returned = order(settings, [("TEA", 1)])
    transition(returned, "ship", ACTOR)
    transition(returned, "return", ACTOR)
    assert confirmed


def order(settings, lines, customer=None, note=None) -> str:
    created, _ = create_order(settings, channel="store", lines=[LineRequest(s, q) for s, q in lines],
                              actor=ACTOR, customer=customer, note=note)
    return created.number


def business_data() -> dict:
    """What a shop owner would call 'the same data', independent of row ids and clock microseconds."""
    products = [{f: getattr(p, f) for f in ("sku", "barcode", "name", "price_cents", "cost_cents",
                                            "reorder_point", "reorder_qty", "active")}
                for p in Product.select().order_by(Product.sku)]
    stock = sorted((lv.product.sku, lv.location.code, lv.on_hand, lv.reserved)
                   for lv in StockLevel.select() if lv.on_hand or lv.reserved)
    orders = []
    for o in Order.select().order_by(Order.number):
        lines = [(line.product.sku, line.qty, line.unit_price_cents, line.line_total_cents)
                 for line in OrderLine.select().where(OrderLine.order == o).order_by(OrderLine.id)]
        customer = customer_summary(o.customer) if o.customer_id else None
        orders.append({"number": o.number, "status": o.status, "channel": o.channel, "note": o.note,
                       "created_at": o.created_at.replace(microsecond=0), "total_cents": o.total_cents,
                       "carrier": o.carrier, "tracking_number": o.tracking_number, "lines": lines,
                       "customer": {k: v for k, v in customer.items() if k != "id"} if customer else None})
    return {"products": products, "stock": stock, "orders": orders}


def every_row() -> dict:
    """Every row of every core table: equal before and after means nothing at all was written."""
    return {model.__name__: sorted(model.select().tuples(), key=repr) for model in CORE_MODELS}


def audit_count() -> int:
    return AuditEvent.select().count()


def ledger_count() -> int:
    return StockMovement.select().count()


def assert_consistent() -> None:
    assert ledger_mismatches() == []
    assert audit.verify().ok


@contextmanager
def fresh_box(tmp_path: Path, back_to: config.Settings, database_url: str = "sqlite:///appliance.db"):
    """A second, empty box (its own home and database) for the length of the block."""
    home = make_home(tmp_path / "fresh-box")
    settings = config.load(home, environ={"APPLIANCE_DATABASE_URL": database_url})
    runtime.close()
    runtime.connect(settings)
    migrate()
    try:
        yield settings
    finally:
        runtime.close()
        runtime.connect(back_to)
