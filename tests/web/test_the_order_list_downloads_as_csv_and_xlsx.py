"""The order list downloads as CSV and XLSX with what the page's filters show, every page of it
(newest first): money as number cells in the spreadsheet, the filters kept in the page's links."""
from __future__ import annotations

import csv
import io

import openpyxl

from appliance import orders
from web.pages import orders as order_pages


def test_the_filtered_orders_download_whole_as_csv_and_xlsx(settings, staff, make_product, monkeypatch):
    monkeypatch.setattr(order_pages, "EXPORT_BATCH", 2)  # several batches without making hundreds of orders
    make_product("TEA", price_cents=350, stock=100)
    numbers = [orders.create_order(settings, channel=channel, lines=[orders.LineRequest("TEA", n)], actor="sam")[0].number
               for n, channel in [(1, "phone"), (2, "store"), (3, "phone"), (4, "phone"), (5, "web")]]

    phone = list(csv.reader(io.StringIO(staff.get("/orders?channel=phone&format=csv").data.decode("utf-8-sig"))))
    assert phone[0][:7] == ["Number", "Created (UTC)", "Status", "Channel", "Customer", "Items", "Total"]
    assert [(r[0], r[3], r[5], r[6]) for r in phone[1:]] == [
        (numbers[3], "phone", "4", "14.00"), (numbers[2], "phone", "3", "10.50"), (numbers[0], "phone", "1", "3.50")]

    answer = staff.get("/orders?format=xlsx")
    assert answer.headers["Content-Disposition"] == 'attachment; filename="orders.xlsx"'
    rows = list(openpyxl.load_workbook(io.BytesIO(answer.data)).active.iter_rows(values_only=True))
    assert [r[0] for r in rows[1:]] == numbers[::-1]
    assert rows[1][6] == 17.5 and rows[1][8] == 0  # money as numbers a spreadsheet sums

    page = staff.get("/orders?channel=phone").get_data(as_text=True)
    assert 'href="/orders?format=xlsx&amp;channel=phone"' in page


def test_a_bad_filter_is_said_on_the_page_not_downloaded(staff):
    answer = staff.get("/orders?status=lost&format=csv")
    assert answer.status_code == 200 and "text/html" in answer.content_type
    assert "Unknown status lost" in answer.get_data(as_text=True)
