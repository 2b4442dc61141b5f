"""The purchase order list and each order's lines download as CSV and XLSX (web/exports.py): money as
number cells in the spreadsheet, quantities as whole numbers."""
from __future__ import annotations

import io

from openpyxl import load_workbook

from appliance import purchasing, replenishment


def test_the_list_and_the_lines_download_as_spreadsheets(settings, manager, stock_product, supplier):
    stock_product("TEA", stock=0, reorder_point=6)
    supplier("Leaf & Co", carries={"TEA": (125, 1)})
    (po,) = purchasing.create_from_suggestions(replenishment.suggestions(settings), "maria")
    sheet = load_workbook(io.BytesIO(manager.get(f"/purchasing/{po.id}?format=xlsx").data)).active
    assert [c.value for c in sheet[2]] == ["TEA", "Product TEA", 6, 0, 1.25, 7.5]
    listed = manager.get("/purchasing?format=csv")
    assert listed.mimetype == "text/csv"
    text = listed.get_data(as_text=True)
    assert f"{po.number},Leaf & Co,draft," in text and text.rstrip().endswith(",7.50")
