"""A counter (store) sale paid in full ends in one step: paid, handed over (delivered, never
shipped), its stock consumed through the ledger, the change given back; payments are in the order's
timeline and the audit trail. Such a sale is never overdue: not in the order list, not in the
monitors' check, not in the overdue rate, however long ago it was made."""
from datetime import timedelta

import pytest

from appliance import audit, inventory
from appliance.models import AuditEvent, Order, utcnow
from monitors import engine

from .conftest import order_body, stock


def test_a_cash_sale_with_change_is_handed_over_at_once(api, shop):
    response = api.post("staff", "/orders", json=order_body(
        ("MUG", 2), ("TEA", 1), payments=[{"method": "cash", "amount_cents": 2050, "tendered_cents": 5000}]))
    assert response.status_code == 201, response.get_json()
    order = response.get_json()
    assert (order["status"], order["paid_cents"], order["change_cents"], order["due_cents"]) == ("delivered", 2050, 2950, 0)
    assert order["shipped_at"] is None and order["carrier"] is None and order["delivered_at"]
    assert (stock(api, "MUG")["on_hand"], stock(api, "MUG")["reserved"]) == (6, 0)
    assert (stock(api, "TEA")["on_hand"], stock(api, "TEA")["reserved"]) == (9, 0)
    assert inventory.ledger_mismatches() == []

    full = api.get("staff", f"/orders/{order['number']}").get_json()
    assert [(e["from"], e["to"]) for e in full["events"]] == [(None, "confirmed"), ("confirmed", "delivered")]
    assert "cash 20.50" in full["events"][-1]["note"]
    assert [(p["method"], p["amount_cents"], p["tendered_cents"], p["change_cents"]) for p in full["payments"]] == [
        ("cash", 2050, 5000, 2950)]
    actions = [e.action for e in AuditEvent.select().where(AuditEvent.entity_id == order["number"]).order_by(AuditEvent.id)]
    assert actions == ["order.create", "order.pay", "order.hand_over"]
    assert audit.verify().ok


def test_a_split_sale_paid_later_is_handed_over_when_the_last_part_is_paid(api, shop):
    number = api.post("staff", "/orders", json=order_body(("HONEY", 2))).get_json()["number"]
    assert stock(api, "HONEY")["reserved"] == 2
    response = api.post("staff", f"/orders/{number}/pay", json={"payments": [
        {"method": "card", "amount_cents": 1500}, {"method": "cash", "amount_cents": 480, "tendered_cents": 500}]})
    assert response.status_code == 200, response.get_json()
    order = response.get_json()
    assert (order["status"], order["paid_cents"], order["change_cents"]) == ("delivered", 1980, 20)
    assert (stock(api, "HONEY")["on_hand"], stock(api, "HONEY")["reserved"]) == (0, 0)


def test_a_paid_order_that_needs_shipping_stays_confirmed_until_shipped(api, shop):
    response = api.post("staff", "/orders", json=order_body(
        ("TEA", 2), channel="web", payments=[{"method": "card", "amount_cents": 700}]))
    order = response.get_json()
    assert (order["status"], order["paid_cents"]) == ("confirmed", 700)
    assert stock(api, "TEA")["reserved"] == 2


@pytest.mark.calendar
def test_counter_sales_are_never_overdue(api, shop, settings):
    paid = [api.post("staff", "/orders", json=order_body(
        ("TEA", 1), payments=[{"method": "card", "amount_cents": 350}])).get_json()["number"] for _ in range(2)]
    long_ago = utcnow() - timedelta(hours=settings.orders.overdue_after_hours * 3)
    Order.update(created_at=long_ago, confirmed_at=long_ago, delivered_at=long_ago).where(Order.number.in_(paid)).execute()

    assert api.get("staff", "/orders?overdue=1").get_json()["orders"] == []
    assert all(api.get("staff", f"/orders/{n}").get_json()["overdue"] is False for n in paid)
    assert engine.run_check("overdue_orders", settings).state == "ok"
    day = (long_ago - timedelta(days=1)).date().isoformat()
    rate = api.get("manager", f"/reports/processing?from={day}").get_json()["overdue"]
    assert (rate["orders"], rate["overdue"]) == (2, 0)
