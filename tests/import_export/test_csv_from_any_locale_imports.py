"""Spreadsheets save CSV differently by locale and program: `;` with decimal commas, tabs, a byte-order
mark, Windows line ends, headers in any case. All of them import the same."""
from __future__ import annotations

import pytest

from appliance import import_export
from appliance.inventory import product_by_sku

from .shop import ACTOR

SAME_PRODUCTS = {
    "excel in germany": "\ufeffSKU;Name;Price;Reorder Point\r\nA1;Tee, grün;3,50;4\r\nB2;Kaffee;12;0\r\n",
    "tab separated": "sku\tname\tprice\treorder_point\nA1\tTee, grün\t3.50\t4\nB2\tKaffee\t12.00\t0\n",
    "plain comma": 'sku,name,price,reorder-point\nA1,"Tee, grün",3.5,4\nB2,Kaffee,12,0\n',
}


@pytest.mark.parametrize("variant", SAME_PRODUCTS)
def test_csv_from_any_locale_imports_the_same_products(variant, settings, db):
    report = import_export.apply("products", SAME_PRODUCTS[variant].encode(), "products.csv", actor=ACTOR,
                            settings=settings)

    assert report.ok, report.errors
    tea, coffee = product_by_sku("A1"), product_by_sku("B2")
    assert (tea.name, tea.price_cents, tea.reorder_point) == ("Tee, grün", 350, 4)
    assert (coffee.name, coffee.price_cents) == ("Kaffee", 1200)


def test_blank_lines_at_the_end_are_ignored(settings, db):
    report = import_export.validate("products", b"sku,name,price\nA1,Tea,1\n,,\n\n , ,\n", "p.csv", settings=settings)
    assert report.ok, report.errors
    assert report.rows == 1
