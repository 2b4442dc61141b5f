"""The stock and customer lists download as CSV and XLSX with what the page's filter shows, every page
of it: quantities and ids as numbers in the spreadsheet, text as text."""
from __future__ import annotations

import csv
import io

import openpyxl

from appliance import customers


def _xlsx_rows(response) -> list[tuple]:
    sheet = openpyxl.load_workbook(io.BytesIO(response.data)).active
    return [tuple(row) for row in sheet.iter_rows(values_only=True)]


def test_the_stock_and_customer_lists_download_as_csv_and_xlsx(staff, make_product):
    for n in range(55):  # more than one page of the stock list (50)
        make_product(f"P{n:02d}", stock=n, reorder_point=3)
    xlsx = staff.get("/stock", query_string={"format": "xlsx"})
    assert xlsx.status_code == 200 and xlsx.headers["Content-Disposition"] == 'attachment; filename="stock.xlsx"'
    rows = _xlsx_rows(xlsx)
    assert rows[0] == ("SKU", "Barcode", "Product", "On hand", "Reserved", "Available", "Reorder point", "Low")
    assert len(rows) == 1 + 55 and rows[1] == ("P00", None, "Product P00", 0, 0, 0, 3, "yes")
    assert rows[55] == ("P54", None, "Product P54", 54, 0, 54, 3, None)
    low = list(csv.reader(io.StringIO(staff.get("/stock?low=1&format=csv").data.decode("utf-8-sig"))))
    assert [r[0] for r in low[1:]] == ["P00", "P01", "P02", "P03"]

    customers.create_customer({"name": "Ana Lima", "phone": "+49 151 12345001", "email": "ana@example.org"}, "test")
    customers.create_customer({"name": "=HYPERLINK(\"x\")", "address": "Main St 1"}, "test")
    found = list(csv.reader(io.StringIO(staff.get("/customers?q=ana&format=csv").data.decode("utf-8-sig"))))
    assert [r[:5] for r in found] == [["Id", "Name", "Phone", "E-mail", "Address"],
                                     # a leading + would start a formula in a spreadsheet: the shared CSV writer quotes it
                                     ["1", "Ana Lima", "'+4915112345001", "ana@example.org", ""]]
    every = _xlsx_rows(staff.get("/customers?format=xlsx"))
    assert [r[1:3] for r in every[1:]] == [("=HYPERLINK(\"x\")", None), ("Ana Lima", "+4915112345001")]  # text stays text
    page = staff.get("/customers?q=ana").get_data(as_text=True)
    assert 'href="/customers?q=ana&amp;format=xlsx"' in page
