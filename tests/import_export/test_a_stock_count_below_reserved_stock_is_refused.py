"""A stock count sets on_hand and posts the difference as a `stocktake` ledger movement. A count below
what is reserved for orders is refused: stock promised to a customer cannot silently vanish."""
from __future__ import annotations

from appliance import import_export
from appliance.inventory import product_by_sku, stock_summary
from appliance.models import AuditEvent, StockMovement

from .shop import ACTOR, assert_consistent, every_row, stock_a_shop


def test_a_stock_count_below_reserved_stock_is_refused(settings, db):
    stock_a_shop(settings)  # 10 TEA reserved on the shop floor
    before = every_row()

    report = import_export.apply("stock", b"sku,location,on_hand\nTEA,floor,9\n", "count.csv", actor=ACTOR,
                            settings=settings)

    assert [str(e) for e in report.errors] == [
        "row 2, column on_hand: the count 9 is below the 10 reserved for orders; ship or cancel those orders first"]
    assert every_row() == before


def test_a_count_sets_on_hand_through_the_ledger_with_one_audit_event(settings, db):
    stock_a_shop(settings)
    tea_floor = stock_summary(product_by_sku("TEA"))["locations"][0]
    audit_before = AuditEvent.select().count()

    report = import_export.apply("stock", b"sku,location,on_hand\nTEA,floor,11\nMUG,,6\nMUG,back,4\n", "count.csv",
                            actor=ACTOR, settings=settings)

    assert report.ok and report.counts == {"changed": 2, "unchanged": 1}
    summary = stock_summary(product_by_sku("TEA"))["locations"][0]
    assert (summary["location"], summary["on_hand"], summary["reserved"]) == ("floor", 11, tea_floor["reserved"])
    stocktakes = {(m.product.sku, m.location.code): m.on_hand_delta
                  for m in StockMovement.select().where(StockMovement.kind == "stocktake")}
    assert stocktakes == {("TEA", "floor"): 11 - tea_floor["on_hand"], ("MUG", "back"): 4}
    events = list(AuditEvent.select().order_by(AuditEvent.id))[audit_before:]
    assert [e.action for e in events] == ["import.stock"]
    assert_consistent()
