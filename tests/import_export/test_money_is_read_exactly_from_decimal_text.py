"""Prices are decimal text in files and integer cents in the box: parsed with Decimal, never float,
and refused when they carry more than 2 decimals rather than silently rounded."""
from __future__ import annotations

import pytest

from appliance import import_export
from appliance.inventory import product_by_sku

from .files import xlsx
from .shop import ACTOR


@pytest.mark.parametrize("text, cents", [
    ("0.29", 29), ("19.99", 1999), ("1.1", 110), ("7", 700), ("0", 0), ("999999.99", 99_999_999),
])
def test_prices_become_exact_cents(text, cents, settings, db):
    report = import_export.apply("products", f"sku,name,price\nA1,Tea,{text}\n".encode(), "p.csv", actor=ACTOR,
                            settings=settings)
    assert report.ok, report.errors
    assert product_by_sku("A1").price_cents == cents


def test_an_xlsx_number_becomes_exact_cents(settings, db):
    # 0.29 * 100 is 28.999999999999996 as a float: an int() of it would lose a cent.
    data = xlsx([["sku", "name", "price", "cost"], ["A1", "Tea", 0.29, 4.35]])

    assert import_export.apply("products", data, "p.xlsx", actor=ACTOR, settings=settings).ok
    assert (product_by_sku("A1").price_cents, product_by_sku("A1").cost_cents) == (29, 435)


@pytest.mark.parametrize("text, reason", [
    ("3.505", "'3.505' has more than 2 decimals"),
    ("0.001", "'0.001' has more than 2 decimals"),
    ("-1.00", "must not be negative"),
    ("€3.50", "'€3.50' is not an amount; write it like 3.50"),
    ("1 000", "'1 000' is not an amount; write it like 3.50"),
    ("1e3", "'1e3' is not an amount; write it like 3.50"),
    ("1000000.01", "must be at most 1000000.00"),
])
def test_money_that_is_not_an_exact_amount_is_refused(text, reason, settings, db):
    report = import_export.validate("products", f'sku,name,price\nA1,Tea,"{text}"\n'.encode(), "p.csv",
                               settings=settings)
    assert [str(e) for e in report.errors] == [f"row 2, column price: {reason}"]
