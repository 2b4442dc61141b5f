"""A report downloaded as XLSX opens with openpyxl: a bold header row, money as number cells with two
decimals (a spreadsheet sums them), counts as integers, text that looks like a formula kept as text.
The inventory value is each product's stock at every location times its cost. On SQLite and PostgreSQL."""
from __future__ import annotations

import io

from openpyxl import load_workbook

from appliance import categories, inventory, orders
from tests.conftest import on_both_engines
from web.exports import Column, download

database_url = on_both_engines()


def _sheet(response):
    assert response.status_code == 200
    assert response.mimetype == "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    return load_workbook(io.BytesIO(response.get_data())).active


def test_sales_by_product_as_xlsx_has_number_cells(settings, make_product, manager):
    make_product("TEA", price_cents=1_234_567, stock=5, name="=SUM(A1:A9)")
    make_product("MUG", price_cents=199, stock=5, name="Mug")
    settings.approval.max_amount_cents = 0  # a big sale is a sale at once
    order, _ = orders.create_order(settings, channel="store", actor="sam",
                                   lines=[orders.LineRequest("TEA", 2), orders.LineRequest("MUG", 3)])
    assert order.status == "confirmed"
    response = manager.get("/reports/sales?by=product&format=xlsx")
    assert response.headers["Content-Disposition"].startswith('attachment; filename="sales-by-product-')
    sheet = _sheet(response)
    rows = list(sheet.iter_rows(values_only=True))
    assert rows[0] == ("SKU", "Product", "Quantity", "Sales")
    assert sheet["A1"].font.b
    assert rows[1] == ("TEA", "=SUM(A1:A9)", 2, 24691.34)  # 2 × 12,345.67
    assert sheet["B2"].data_type == "s" and sheet["B2"].quotePrefix  # text, never a formula
    assert rows[2] == ("MUG", "Mug", 3, 5.97)
    assert sheet["D2"].data_type == "n" and sheet["D2"].number_format == "0.00"
    assert sheet["C3"].data_type == "n"


def test_inventory_value_is_stock_at_every_location_times_cost(manager, make_product):
    make_product("TEA", stock=20)
    make_product("MUG", stock=10)
    make_product("NONE", stock=0)
    inventory.update_product("TEA", {"cost_cents": 120}, "test")
    inventory.update_product("MUG", {"cost_cents": 305}, "test")
    inventory.create_location("back", "Back room", 2, "test")
    inventory.receive("MUG", 5, "test", "back")
    categories.set_category(inventory.product_by_sku("MUG"), "Kitchen", "test")
    page = manager.get("/reports/inventory-value").get_data(as_text=True)
    assert 'id="total-value">69.75<' in page  # 20 × 1.20 + 15 × 3.05
    assert 'id="total-units">35<' in page and ">NONE<" not in page
    rows = list(_sheet(manager.get("/reports/inventory-value?format=xlsx")).iter_rows(values_only=True))
    assert rows == [("SKU", "Product", "Category", "On hand", "Unit cost", "Value at cost"),
                    ("MUG", "Product MUG", "Kitchen", 15, 3.05, 45.75),
                    ("TEA", "Product TEA", None, 20, 1.2, 24)]
    csv_text = manager.get("/reports/inventory-value?format=csv").get_data().decode("utf-8-sig")
    assert csv_text.splitlines()[1] == "MUG,Product MUG,Kitchen,15,3.05,45.75"


def test_money_below_zero_keeps_its_sign_in_both_formats(app):
    rows = [{"what": "refunds over takings", "net": -150}, {"what": "-1 day", "net": -5}]
    columns = [Column("what", "What"), Column("net", "Net", "money")]
    with app.test_request_context():
        csv_body = download(rows, columns, "csv", "net").get_data()
        xlsx_body = download(rows, columns, "xlsx", "net").get_data()
    assert csv_body.startswith(b"\xef\xbb\xbf")  # the byte-order mark Excel reads as UTF-8
    assert csv_body.decode("utf-8-sig").splitlines()[1:] == ["refunds over takings,-1.50", "'-1 day,-0.05"]
    assert list(load_workbook(io.BytesIO(xlsx_body)).active.iter_rows(min_row=2, values_only=True)) == [
        ("refunds over takings", -1.5), ("-1 day", -0.05)]
