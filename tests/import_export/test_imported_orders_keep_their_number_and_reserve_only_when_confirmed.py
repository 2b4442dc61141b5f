"""Imported orders keep number, status and prices. Confirmed ones reserve stock (so they can be shipped
or cancelled like any order), pending ones reserve nothing until approved, and shipped, delivered,
cancelled and returned ones are history with no stock effect. An existing number is skipped when the
file says the same, refused when it says something else."""
from __future__ import annotations

from datetime import datetime

from appliance import import_export
from appliance.inventory import product_by_sku, receive, stock_summary
from appliance.models import AuditEvent, Customer, Order, StockMovement
from appliance.orders import transition

from .shop import ACTOR, assert_consistent, every_row

HEADER = "number,created_at,channel,status,customer_name,customer_phone,sku,qty,unit_price,carrier,tracking_number\n"


def setup_products(settings):
    import_export.apply("products", b"sku,name,price\nTEA,Tea,3.50\nMUG,Mug,12.99\n", "p.csv", actor=ACTOR,
                   settings=settings)
    receive("TEA", 10, ACTOR)
    receive("MUG", 10, ACTOR)


def import_orders(settings, body: str):
    return import_export.apply("orders", (HEADER + body).encode(), "orders.csv", actor=ACTOR, settings=settings)


def stock(sku: str) -> tuple[int, int]:
    summary = stock_summary(product_by_sku(sku))
    return summary["on_hand"], summary["reserved"]


def test_only_confirmed_orders_reserve_stock(settings, db):
    setup_products(settings)

    report = import_orders(settings,
                           "W-1,2026-03-01T09:30:00+01:00,web,confirmed,Dee,+44 1,TEA,2,3.00,,\n"
                           "W-1,,,,,,MUG,1,12.99,,\n"        # later lines may leave the order's cells empty
                           "W-2,2026-03-01,phone,pending,Dee,+44 1,TEA,5,3.50,,\n"
                           "W-3,2026-02-01,web,shipped,,,TEA,4,3.50,DHL,JD1\n"
                           "W-4,2026-02-01,web,returned,,,MUG,1,12.99,DHL,JD2\n")

    assert report.ok, report.errors
    assert report.counts == {"created": 4, "already there": 0}
    assert stock("TEA") == (10, 2) and stock("MUG") == (10, 1)
    w1 = Order.get(Order.number == "W-1")
    assert (w1.status, w1.total_cents, w1.created_at) == ("confirmed", 2 * 300 + 1299, datetime(2026, 3, 1, 8, 30))
    assert Customer.select().where(Customer.name == "Dee").count() == 1
    assert Order.get(Order.number == "W-3").tracking_number == "JD1"
    assert [m.kind for m in StockMovement.select().where(StockMovement.reference.startswith("W-"))] == ["reserve"] * 2
    assert [e.action for e in AuditEvent.select().where(AuditEvent.action.startswith("import.orders"))] == ["import.orders"]


def test_imported_orders_go_on_through_their_lifecycle(settings, db):
    setup_products(settings)
    assert import_orders(settings, "W-1,,web,confirmed,,,TEA,2,3.50,,\nW-2,,web,pending,,,TEA,3,3.50,,\n").ok

    transition("W-1", "ship", ACTOR, carrier="UPS", tracking_number="1Z")
    transition("W-2", "approve", ACTOR)

    assert stock("TEA") == (8, 3)
    assert_consistent()


def test_an_existing_order_is_skipped_when_identical_and_refused_when_different(settings, db):
    setup_products(settings)
    line = "W-1,2026-03-01 10:00,web,confirmed,Dee,,TEA,2,3.50,,\n"
    assert import_orders(settings, line).ok
    before = every_row()

    again = import_orders(settings, line)
    changed = import_orders(settings, line.replace("3.50", "3.40"))

    assert again.ok and again.counts == {"created": 0, "already there": 1} and not again.written
    assert [str(e) for e in changed.errors] == [
        "row 2, column sku: order W-1 already exists with different lines; an import does not change existing orders"]
    assert every_row() == before


def test_a_number_in_the_boxs_own_numbering_that_is_taken_is_refused(settings, db):
    setup_products(settings)
    assert import_orders(settings, "W-1,,web,pending,,,TEA,1,3.50,,\n").ok  # gets id 1

    report = import_orders(settings, "SO-000001,,web,pending,,,TEA,1,3.50,,\n")

    assert [str(e) for e in report.errors] == [
        "row 2, column number: SO-000001 is in this box's own numbering and that number is taken here; "
        "give the order another number"]
