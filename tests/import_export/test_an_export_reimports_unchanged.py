"""An export is a file the import reads back: into a fresh box it recreates the same business data,
and into the box it came from it changes nothing at all."""
from __future__ import annotations

import pytest

from appliance import import_export
from appliance.inventory import create_location
from appliance.models import Order

from .shop import ACTOR, assert_consistent, business_data, every_row, fresh_box, order, stock_a_shop

KINDS_IN_IMPORT_ORDER = ("products", "stock", "orders")


@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
def test_an_export_imported_into_a_fresh_box_gives_the_same_business_data(fmt, settings, db, tmp_path):
    stock_a_shop(settings)
    before = business_data()
    exported = {kind: import_export.export(kind, fmt) for kind in KINDS_IN_IMPORT_ORDER}

    with fresh_box(tmp_path, back_to=settings) as fresh:
        create_location("back", "Back room", 20, ACTOR)  # locations are set up, not imported
        for kind in KINDS_IN_IMPORT_ORDER:
            report = import_export.apply(kind, exported[kind], f"{kind}.{fmt}", actor=ACTOR, settings=fresh)
            assert report.ok, report.errors
        assert business_data() == before
        assert_consistent()


@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
def test_an_export_imported_into_the_same_box_changes_nothing(fmt, settings, db):
    stock_a_shop(settings)
    before = every_row()

    for kind in KINDS_IN_IMPORT_ORDER:
        report = import_export.apply(kind, import_export.export(kind, fmt), f"{kind}.{fmt}", actor=ACTOR, settings=settings)
        assert report.ok, report.errors
        assert not report.written

    assert every_row() == before


def test_the_box_keeps_numbering_its_own_orders_after_importing_them(settings, db, tmp_path):
    stock_a_shop(settings)
    exported = {kind: import_export.export(kind, "csv") for kind in KINDS_IN_IMPORT_ORDER}
    imported_numbers = [o.number for o in Order.select()]

    with fresh_box(tmp_path, back_to=settings) as fresh:
        create_location("back", "Back room", 20, ACTOR)
        for kind in KINDS_IN_IMPORT_ORDER:
            assert import_export.apply(kind, exported[kind], f"{kind}.csv", actor=ACTOR, settings=fresh).ok
        new_number = order(fresh, [("MUG", 1)])

        assert new_number not in imported_numbers
        assert Order.select().count() == len(imported_numbers) + 1
