"""/import: upload a CSV or XLSX file, see every bad row (row, column, reason), and only a clean file
offers the confirm step, which applies exactly the file that was checked."""
from __future__ import annotations

import io
import re

import openpyxl

from appliance.models import Product

from .web_helpers import csrf_of


def upload(client, kind: str, filename: str, data: bytes):
    return client.post("/import", data={"csrf_token": csrf_of(client), "kind": kind,
                                        "file": (io.BytesIO(data), filename)}, content_type="multipart/form-data")


def confirm_fields(body: str) -> dict:
    form = body[body.index('action="/import/confirm"'):]
    return dict(re.findall(r'name="(\w+)" value="([^"]*)"', form.split("</form>")[0]))


def test_bad_rows_are_listed_and_nothing_can_be_confirmed(manager):
    csv = b"sku,name,price\nTEA,Green tea,3.50\nMUG,,12.00\nJAM,Jam,cheap\n"
    body = upload(manager, "products", "products.csv", csv).get_data(as_text=True)
    assert re.search(r'<td class="num">3</td><td>name</td>', body)
    assert re.search(r'<td class="num">4</td><td>price</td>', body)
    assert "nothing was imported" in body
    assert 'action="/import/confirm"' not in body
    assert Product.select().count() == 0


def test_a_clean_xlsx_is_checked_then_applied_on_confirm(manager):
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(["sku", "name", "price"])
    sheet.append(["TEA", "Green tea", 3.5])
    sheet.append(["MUG", "Mug", 12])
    data = io.BytesIO()
    book.save(data)
    checked = upload(manager, "products", "products.xlsx", data.getvalue())
    body = checked.get_data(as_text=True)
    assert checked.status_code == 200 and "dry run" in body
    assert Product.select().count() == 0
    confirmed = manager.post("/import/confirm", data={"csrf_token": csrf_of(manager), **confirm_fields(body)})
    assert confirmed.status_code == 302
    assert {p.sku: p.price_cents for p in Product.select()} == {"TEA": 350, "MUG": 1200}
    again = manager.post("/import/confirm", data={"csrf_token": csrf_of(manager), **confirm_fields(body)})
    assert again.status_code == 409 and "upload the file again" in again.get_data(as_text=True)


def test_a_file_that_is_not_a_spreadsheet_is_refused_by_the_file_field(manager):
    body = upload(manager, "products", "notes.txt", b"hello").get_data(as_text=True)
    assert "cannot be imported" in body
    assert 'action="/import/confirm"' not in body
