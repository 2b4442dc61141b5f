"""`validate` (the CLI's --dry-run) checks against the real data and says what would happen, and writes
nothing, even for a file that would change every kind of row."""
from __future__ import annotations

from appliance import import_export

from .shop import every_row, stock_a_shop


def test_a_dry_run_reports_what_would_change_and_writes_nothing(settings, db):
    stock_a_shop(settings)
    before = every_row()
    files = {
        "products": b"sku,name,price\nTEA,Green tea,3.90\nNEW,Cake,2.00\nMUG,Mug \xc2\xabCaf\xc3\xa9\xc2\xbb,12.99\n",
        "stock": b"sku,location,on_hand\nMUG,floor,40\n",
        "orders": b"number,channel,status,sku,qty,unit_price\nW-1,web,confirmed,MUG,2,12.99\n",
    }

    reports = {kind: import_export.validate(kind, data, f"{kind}.csv", settings=settings) for kind, data in files.items()}

    assert reports["products"].counts == {"created": 1, "updated": 1, "unchanged": 1}
    assert reports["stock"].counts == {"changed": 1, "unchanged": 0}
    assert reports["orders"].counts == {"created": 1, "already there": 0}
    assert all(r.ok and r.dry_run and not r.written for r in reports.values())
    assert "dry run: nothing was written" in reports["products"].summary()
    assert every_row() == before
