"""Sales by product, channel and employee for a chosen range of the shop's days, across the night the
clocks go back in Berlin (Sunday 25 October 2026 has 25 hours), on SQLite and PostgreSQL. Figures are
counted by hand from the orders below; the page, its CSV and the report functions agree."""
from __future__ import annotations

import csv
import io
from datetime import datetime

from appliance import categories, clock, orders, payments, reports
from appliance.inventory import product_by_sku

from tests.conftest import on_both_engines

database_url = on_both_engines()

# Berlin: Saturday 24 October is CEST (UTC+2), from 23 Oct 22:00 UTC; Sunday 25 October ends at
# 26 Oct 00:00 CET = 25 Oct 23:00 UTC. The report runs from the 24th to the 25th, both included.
BEFORE = datetime(2026, 10, 23, 21, 30)      # Fri 23:30 in Berlin: outside
FIRST_MINUTES = datetime(2026, 10, 23, 22, 30)  # Sat 00:30 CEST: inside
CANCELLED = datetime(2026, 10, 24, 12, 0)     # inside, but cancelled: no sale
LAST_HOUR = datetime(2026, 10, 25, 22, 30)    # Sun 23:30 CET: inside (at UTC+2 it would be Monday)
AFTER = datetime(2026, 10, 25, 23, 30)        # Mon 00:30 CET: outside


def _order(at, channel, lines, actor):
    with clock.shifted_to(at):
        order, _ = orders.create_order(_order.settings, channel=channel, actor=actor,
                                       lines=[orders.LineRequest(sku, qty) for sku, qty in lines])
    assert order.status == "confirmed", order.status
    return order.number


def _ship(number, at, actor):
    with clock.shifted_to(at):
        orders.transition(number, "ship", actor, carrier="post")


def _shop(settings, make_product):
    settings.shop.timezone = "Europe/Berlin"
    _order.settings = settings
    make_product("TEA", price_cents=350, stock=50)
    make_product("MUG", price_cents=800, stock=50)
    categories.set_category(make_product("TEA-SPARE", stock=0), "Tea", "test")  # sold nothing
    categories.set_category(product_by_sku("TEA"), "tea", "test")            # the same category
    a = _order(FIRST_MINUTES, "store", [("TEA", 2)], "sam")            # 7.00
    _order(BEFORE, "store", [("MUG", 1)], "sam")                       # outside
    e = _order(CANCELLED, "phone", [("MUG", 1)], "sam")
    c = _order(LAST_HOUR, "phone", [("TEA", 1), ("MUG", 1)], "maria")   # 11.50
    d = _order(AFTER, "web", [("MUG", 3)], "maria")                     # outside
    for number, at, method, cents in ((c, LAST_HOUR.replace(minute=35), "card", 1150),   # Sunday
                                      (d, AFTER.replace(minute=35), "card", 2400),       # Monday: outside
                                      (e, CANCELLED, "other", 800)):                     # before it was cancelled
        with clock.shifted_to(at):
            orders.pay_order(settings, number, [payments.PaymentRequest(method, cents)], "sam")
    with clock.shifted_to(CANCELLED.replace(minute=5)):
        orders.transition(e, "cancel", "maria")
    _ship(a, datetime(2026, 10, 24, 23, 30), "ada")   # Sun 01:30 CEST, 25 h after it was taken
    _ship(c, datetime(2026, 10, 25, 22, 54), "ada")   # 24 minutes (0.4 h) after it was taken
    _ship(d, datetime(2026, 10, 25, 23, 40), "ada")   # Monday: outside


RANGE = {"from": "2026-10-24", "to": "2026-10-25"}


def test_the_report_functions_count_the_two_days(settings, db, make_product):
    _shop(settings, make_product)
    period = reports.period_of_days(datetime(2026, 10, 24).date(), datetime(2026, 10, 25).date(),
                                    reports.shop_zone(settings))
    assert (period.start, period.stop) == (datetime(2026, 10, 23, 22, 0), datetime(2026, 10, 25, 23, 0))  # 49 hours
    assert reports.sales_by_product(period.start, period.stop, limit=None) == [
        {"sku": "TEA", "name": "Product TEA", "qty": 3, "total_cents": 1050},
        {"sku": "MUG", "name": "Product MUG", "qty": 1, "total_cents": 800}]
    assert reports.sales_by_channel(period.start, period.stop) == [
        {"channel": "phone", "orders": 1, "total_cents": 1150},
        {"channel": "store", "orders": 1, "total_cents": 700}]
    assert reports.sales_by_category(period.start, period.stop) == [
        {"category": "Tea", "orders": 2, "qty": 3, "total_cents": 1050},
        {"category": "(no category)", "orders": 1, "qty": 1, "total_cents": 800}]
    people = {r["employee"]: r for r in reports.sales_by_employee(period.start, period.stop)}
    assert set(people) == {"ada", "maria", "sam"}
    assert (people["sam"]["orders"], people["sam"]["total_cents"], people["sam"]["shipped"]) == (1, 700, 0)
    assert (people["maria"]["orders"], people["maria"]["total_cents"], people["maria"]["shipped"]) == (1, 1150, 0)
    assert (people["ada"]["orders"], people["ada"]["shipped"], people["ada"]["mean_hours_to_ship"]) == (0, 2, 12.7)


def test_the_page_and_its_csv_show_the_same_figures(settings, db, make_product, manager):
    _shop(settings, make_product)
    page = manager.get("/reports/sales", query_string={**RANGE, "by": "channel"}).get_data(as_text=True)
    table = page.split('id="report"')[1]
    assert "<td>phone</td>" in table and "11.50" in table and "7.00" in table
    assert "18.50" in table.split("<tfoot>")[1]  # all channels
    response = manager.get("/reports/sales", query_string={**RANGE, "by": "employee", "format": "csv"})
    assert response.headers["Content-Disposition"] == 'attachment; filename="sales-by-employee-2026-10-24-to-2026-10-25.csv"'
    rows = list(csv.reader(io.StringIO(response.get_data().decode("utf-8-sig"))))
    assert rows == [["Employee", "Orders taken", "Sales", "Orders shipped", "Average hours to ship"],
                    ["ada", "0", "0.00", "2", "12.7"],
                    ["maria", "1", "11.50", "0", ""],
                    ["sam", "1", "7.00", "0", ""]]
    takings = manager.get("/reports/sales", query_string={**RANGE, "by": "takings", "format": "csv"})
    assert list(csv.reader(io.StringIO(takings.get_data().decode("utf-8-sig"))))[1:] == [
        ["2026-10-24", "other", "1", "8.00", "0.00", "8.00"], ["2026-10-25", "card", "1", "11.50", "0.00", "11.50"]]
    one_day = manager.get("/reports/sales", query_string={"from": "2026-10-25", "to": "2026-10-25", "format": "csv"})
    assert list(csv.reader(io.StringIO(one_day.get_data().decode("utf-8-sig"))))[1:] == [
        ["MUG", "Product MUG", "1", "8.00"], ["TEA", "Product TEA", "1", "3.50"]]
