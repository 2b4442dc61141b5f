"""A product's stock history for chosen shop days, on SQLite and PostgreSQL: every movement in those
days (Sunday 25 October 2026 in Berlin, 25 hours long) with the units on hand after it, counting from
everything that moved before; downloaded as CSV and XLSX with the same rows."""
from __future__ import annotations

import csv
import io
from datetime import datetime

from openpyxl import load_workbook

from appliance import clock, inventory, orders

from tests.conftest import on_both_engines

database_url = on_both_engines()


def _at(instant, action, *args, **kwargs):
    with clock.shifted_to(instant):
        return action(*args, **kwargs)


def test_the_history_of_a_sunday_when_the_clocks_go_back(settings, db, make_product, manager):
    settings.shop.timezone = "Europe/Berlin"
    make_product("LAMP", stock=0)
    _at(datetime(2026, 10, 24, 12, 0), inventory.receive, "LAMP", 10, "sam")                  # Saturday
    _at(datetime(2026, 10, 24, 22, 30), inventory.receive, "LAMP", 5, "sam", reference="DN-7")  # Sun 00:30 CEST
    order, _ = _at(datetime(2026, 10, 25, 12, 0), orders.create_order, settings, channel="phone", actor="sam",
                   lines=[orders.LineRequest("LAMP", 3)])
    _at(datetime(2026, 10, 25, 12, 30), orders.transition, order.number, "ship", "ada", carrier="post")
    _at(datetime(2026, 10, 25, 22, 30), inventory.adjust, "LAMP", -2, "maria", "broken")       # Sun 23:30 CET
    _at(datetime(2026, 10, 25, 23, 30), inventory.receive, "LAMP", 1, "sam")                   # Monday

    response = manager.get("/products/LAMP/stock-history?from=2026-10-25&to=2026-10-25&format=csv")
    rows = list(csv.reader(io.StringIO(response.get_data().decode("utf-8-sig"))))
    assert rows == [
        ["When", "Location", "Movement", "On hand change", "Reserved change", "On hand after", "Order", "Reference", "By"],
        ["2026-10-25 00:30", "floor", "receive", "5", "0", "15", "", "DN-7", "sam"],
        ["2026-10-25 13:00", "floor", "reserve", "0", "3", "15", order.number, "", "sam"],
        ["2026-10-25 13:30", "floor", "ship", "-3", "-3", "12", order.number, "", "ada"],
        ["2026-10-25 23:30", "floor", "adjust", "-2", "0", "10", "", "broken", "maria"]]
    book = load_workbook(io.BytesIO(manager.get("/products/LAMP/stock-history?from=2026-10-25&to=2026-10-25&format=xlsx")
                                    .get_data()))
    assert list(book.active.iter_rows(values_only=True))[3][:6] == ("2026-10-25 13:30", "floor", "ship", -3, -3, 12)
    page = manager.get("/products/LAMP/stock-history?from=2026-10-25&to=2026-10-26").get_data(as_text=True)
    assert page.count("<tr><td>2026-10-2") == 5  # Monday's delivery too
    bad = manager.get("/products/LAMP/stock-history?from=2026-10-25&to=2026-10-24")
    assert bad.status_code == 422 and "The last day comes before the first day." in bad.get_data(as_text=True)
