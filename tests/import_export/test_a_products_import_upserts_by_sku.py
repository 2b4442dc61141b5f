"""A products import creates new SKUs and updates known ones. An identical row changes nothing; a column
left out of the file leaves that field alone; the whole import is one audit event."""
from __future__ import annotations

import json

from appliance import import_export
from appliance.inventory import product_by_sku
from appliance.models import AuditEvent

from .shop import ACTOR, every_row, stock_a_shop


def last_audit_events(since: int) -> list[AuditEvent]:
    return list(AuditEvent.select().order_by(AuditEvent.id))[since:]


def test_identical_rows_change_nothing_and_write_no_audit_event(settings, db):
    stock_a_shop(settings)
    before = every_row()
    data = b"sku,name,price,barcode\nTEA,\"Green tea, 100 g\",3.50,0012345\n"

    report = import_export.apply("products", data, "p.csv", actor=ACTOR, settings=settings)

    assert report.counts == {"created": 0, "updated": 0, "unchanged": 1} and not report.written
    assert every_row() == before


def test_new_and_changed_products_are_written_with_one_audit_event(settings, db):
    stock_a_shop(settings)
    audit_before = AuditEvent.select().count()
    data = b"sku,name,price,active\nTEA,\"Green tea, 100 g\",3.90,yes\nCAKE,Cake,2.00,\nOLD,Retired kettle,25.00,no\n"

    report = import_export.apply("products", data, "p.csv", actor=ACTOR, settings=settings)

    assert report.counts == {"created": 1, "updated": 1, "unchanged": 1}
    tea, cake = product_by_sku("TEA"), product_by_sku("CAKE")
    assert (tea.price_cents, tea.cost_cents, tea.barcode, tea.reorder_point) == (390, 120, "0012345", 5)
    assert (cake.price_cents, cake.cost_cents, cake.active, cake.barcode) == (200, 0, True, None)
    [event] = last_audit_events(audit_before)
    assert event.action == "import.products" and event.actor == ACTOR
    after = json.loads(event.after)
    assert after["created"] == ["CAKE"]
    assert after["updated"] == {"TEA": {"price_cents": [350, 390]}}


def test_two_products_may_swap_barcodes_in_one_import(settings, db):
    stock_a_shop(settings)
    data = b"sku,name,price,barcode\nTEA,\"Green tea, 100 g\",3.50,999\nMUG,Mug,12.99,0012345\n"

    report = import_export.apply("products", data, "p.csv", actor=ACTOR, settings=settings)

    assert report.ok, report.errors
    assert (product_by_sku("TEA").barcode, product_by_sku("MUG").barcode) == ("999", "0012345")


def test_a_barcode_given_twice_in_the_file_is_refused(settings, db):
    data = b"sku,name,price,barcode\nA1,Tea,1,555\nB2,Cup,1,555\n"
    report = import_export.validate("products", data, "p.csv", settings=settings)
    assert [str(e) for e in report.errors] == ["row 3, column barcode: barcode 555 also belongs to A1 (row 2)"]
