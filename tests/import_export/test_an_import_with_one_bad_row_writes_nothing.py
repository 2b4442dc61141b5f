"""One bad row among good ones: the import is refused whole. No product, stock level, ledger row,
order or audit event is written, and the report names the bad row."""
from __future__ import annotations

import pytest

from appliance import import_export
from appliance.import_export import RowError

from .shop import ACTOR, audit_count, every_row, ledger_count, stock_a_shop

FILES = {
    "products": (b"sku,name,price\nNEW1,Cake,2.50\nNEW2,Bread,-1\nTEA,Green tea renamed,3.60\n",
                 RowError(3, "price", "must not be negative")),
    "stock": (b"sku,location,on_hand\nMUG,floor,50\nTEA,back,lots\nSOFA,back,9\n",
              RowError(3, "on_hand", "must be a whole number, zero or more")),
    "orders": (b"number,channel,status,sku,qty,unit_price\n"
               b"W-1,web,confirmed,MUG,1,12.99\nW-2,web,confirmed,MUG,0,12.99\nW-3,web,pending,TEA,1,3.50\n",
               RowError(3, "qty", "must be a whole number above zero")),
}


@pytest.mark.parametrize("kind", FILES)
def test_an_import_with_one_bad_row_writes_nothing(kind, settings, db):
    stock_a_shop(settings)
    data, expected_error = FILES[kind]
    before, ledger_before, audit_before = every_row(), ledger_count(), audit_count()

    report = import_export.apply(kind, data, f"{kind}.csv", actor=ACTOR, settings=settings)

    assert report.errors == [expected_error]
    assert not report.written
    assert ledger_count() == ledger_before
    assert audit_count() == audit_before
    assert every_row() == before


def test_a_row_that_fails_only_against_the_stock_still_stops_the_whole_file(settings, db):
    stock_a_shop(settings)
    before = every_row()
    # Each order alone fits the 5 mugs available; together they do not.
    data = (b"number,channel,status,sku,qty,unit_price\n"
            b"W-1,web,confirmed,MUG,3,12.99\nW-2,web,confirmed,MUG,3,12.99\n")

    report = import_export.apply("orders", data, "orders.csv", actor=ACTOR, settings=settings)

    assert [(e.row, e.column) for e in report.errors] == [(3, "qty")]
    assert "3 wanted, 2 available" in report.errors[0].message
    assert every_row() == before
