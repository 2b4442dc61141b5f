"""Files that cannot be read at all get one clear reason, and nothing is written."""
from __future__ import annotations

import pytest

from appliance import import_export
from appliance.inventory import product_by_sku

from .files import with_saved_formula_result, xlsx
from .shop import ACTOR, every_row


def refusal(data: bytes, filename: str, settings, kind: str = "products") -> list[str]:
    before = every_row()
    report = import_export.apply(kind, data, filename, actor=ACTOR, settings=settings)
    assert not report.ok and not report.written
    assert every_row() == before
    return [str(e) for e in report.errors]


@pytest.mark.parametrize("filename, reason", [
    ("products.pdf", "A .pdf file cannot be imported; use a .csv or .xlsx file."),
    ("products", "A file without an extension cannot be imported; use a .csv or .xlsx file."),
    ("products.xls", "A .xls file cannot be read; save it as .xlsx or .csv (UTF-8)."),
])
def test_a_file_that_is_not_csv_or_xlsx_is_refused(filename, reason, settings, db):
    assert refusal(b"sku,name,price\nA,B,1\n", filename, settings) == [reason]


def test_an_empty_file_is_refused(settings, db):
    assert refusal(b"", "products.csv", settings) == ["The file is empty."]
    assert refusal(b"\r\n \n", "products.csv", settings) == ["The file is empty."]


def test_text_named_xlsx_and_a_workbook_named_csv_are_refused(settings, db):
    assert refusal(b"sku,name,price\n", "products.xlsx", settings) == [
        "This is not an XLSX file (it is not a zip archive); save it again as .xlsx."]
    assert refusal(xlsx([["sku", "name", "price"]]), "products.csv", settings) == [
        "This is an XLSX (or other zip) file named .csv; rename it to .xlsx."]
    assert refusal(b"PK\x03\x04 not really a zip", "products.xlsx", settings)[0].startswith(
        "The XLSX file cannot be read")


def test_a_binary_file_named_csv_is_refused(settings, db):
    assert refusal(b"\x00\x01\x02sku", "products.csv", settings) == [
        "This is not a CSV text file (it contains binary data)."]


def test_a_file_that_is_not_utf8_is_refused_naming_the_line(settings, db):
    latin1 = "sku,name,price\nA1,Tea,1.00\nB2,Café,2.00\n".encode("latin-1")
    assert refusal(latin1, "products.csv", settings) == [
        "row 3: The file is not UTF-8 text (bad bytes on line 3); save it as \"CSV UTF-8\"."]


def test_a_wrong_header_names_each_missing_unknown_and_repeated_column(settings, db):
    data = b"SKU,Title,Prise,sku\nA1,Tea,1.00,A1\n"
    assert refusal(data, "products.csv", settings) == [
        "row 1, column title: unknown column; the columns are: "
        "sku, barcode, name, price, cost, reorder_point, reorder_qty, active",
        "row 1, column prise: unknown column; the columns are: "
        "sku, barcode, name, price, cost, reorder_point, reorder_qty, active",
        "row 1, column sku: this column appears twice",
        "row 1, column name: required column is missing",
        "row 1, column price: required column is missing",
    ]


def test_a_header_not_on_the_first_row_is_refused(settings, db):
    assert refusal(xlsx([[None], ["sku", "name", "price"], ["A1", "Tea", 1]]), "products.xlsx", settings) == [
        "row 2: The header must be on the first row."]


def test_a_value_under_a_blank_header_is_refused_rather_than_lost(settings, db):
    assert refusal(b"sku,name,price,\nA1,Tea,1.00,oops\n", "products.csv", settings) == [
        "row 2, column #4: a value in a column without a header"]


def test_an_xlsx_formula_without_a_saved_result_is_refused(settings, db):
    data = xlsx([["sku", "name", "price"], ["A1", "Tea", "=1+2.5"]])
    assert refusal(data, "products.xlsx", settings) == [
        "row 2, column price: is a formula without a saved result; open the file in a spreadsheet "
        "program and save it, or paste the values"]


def test_an_xlsx_formula_with_a_saved_result_imports_its_value(settings, db):
    data = with_saved_formula_result(xlsx([["sku", "name", "price"], ["A1", "Tea", "=1+2.5"]]), "1+2.5", "3.5")

    report = import_export.apply("products", data, "products.xlsx", actor=ACTOR, settings=settings)

    assert report.ok, report.errors
    assert product_by_sku("A1").price_cents == 350


def test_a_header_only_file_imports_nothing_and_is_fine(settings, db):
    report = import_export.apply("products", b"sku,name,price\n", "products.csv", actor=ACTOR, settings=settings)
    assert report.ok and report.rows == 0 and not report.written
