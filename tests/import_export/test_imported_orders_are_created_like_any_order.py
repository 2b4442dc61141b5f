"""An imported order is created by the same domain function as an order from the API or the counter
page: its lines stay as the file has them (the same SKU at two prices is two lines, both reserved),
it gets the same audit event and timeline, and its customer is matched by the same rule."""
from __future__ import annotations

from appliance import import_export
from appliance.inventory import create_product, receive
from appliance.models import AuditEvent, Customer, Order, OrderEvent, OrderLine
from appliance.orders import LineRequest, create_order

from .shop import ACTOR, assert_consistent

HEADER = "number,channel,status,customer_name,customer_phone,customer_email,sku,qty,unit_price\n"


def import_orders(settings, body: str):
    return import_export.apply("orders", (HEADER + body).encode(), "orders.csv", actor=ACTOR, settings=settings)


def test_the_same_sku_at_two_prices_stays_two_lines_and_both_reserve(settings, db):
    create_product({"sku": "TEA", "name": "Tea", "price_cents": 350}, ACTOR)
    receive("TEA", 5, ACTOR)

    short = import_orders(settings, "W-1,web,confirmed,,,,TEA,2,3.00\nW-1,,,,,,TEA,4,3.50\n")
    assert [str(e) for e in short.errors] == [
        "row 3, column qty: not enough stock of TEA to reserve for a confirmed order: 4 wanted, 3 available"]

    report = import_orders(settings, "W-1,web,confirmed,,,,TEA,2,3.00\nW-1,,,,,,TEA,3,3.50\n")

    assert report.ok, report.errors
    order = Order.get(Order.number == "W-1")
    lines = OrderLine.select().where(OrderLine.order == order).order_by(OrderLine.id)
    assert [(line.qty, line.unit_price_cents) for line in lines] == [(2, 300), (3, 350)]
    assert order.total_cents == 2 * 300 + 3 * 350
    assert [e.note for e in OrderEvent.select().where(OrderEvent.order == order)] == ["imported from orders.csv"]
    assert AuditEvent.select().where((AuditEvent.action == "order.create") & (AuditEvent.entity_id == "W-1")).count() == 1
    assert_consistent()


def test_customers_are_matched_by_the_rule_every_order_follows(settings, db):
    create_product({"sku": "TEA", "name": "Tea", "price_cents": 350}, ACTOR)
    receive("TEA", 10, ACTOR)
    create_order(settings, channel="store", lines=[LineRequest("TEA", 1)], actor=ACTOR, customer={"name": "Bob"})
    create_order(settings, channel="web", lines=[LineRequest("TEA", 1)], actor=ACTOR,
                 customer={"name": "Ann", "email": "ann@example.com"})

    report = import_orders(settings, "W-1,web,pending,Bob,,,TEA,1,3.50\n"
                                     "W-2,web,pending,Ann Lee,+44 1,ann@example.com,TEA,1,3.50\n")

    assert report.ok, report.errors
    assert Customer.select().count() == 2
    assert Order.get(Order.number == "W-1").customer.name == "Bob"
    assert Order.get(Order.number == "W-2").customer.name == "Ann"
