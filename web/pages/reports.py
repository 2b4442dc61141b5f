"""Manager dashboard: sales today and this week by channel, approvals waiting, overdue orders, charts;
and reports for any range of days (sales by product, category, channel and employee, takings; inventory value at cost),
each downloadable as CSV and XLSX (web.exports).

Days are the shop's days (`shop.timezone`; times are stored in UTC); the page says which zone.
"""
from __future__ import annotations

from datetime import date, timedelta

from flask import Blueprint, render_template, request
from peewee import JOIN

from appliance import orders, payments, reports
from appliance.models import Customer, Order, utcnow
from web.exports import FORMATS, Column, download

from . import settings
from .charts import bar_chart
from .security import requires

blueprint = Blueprint("reports", __name__)

CHART_DAYS = 14


@blueprint.get("/reports")
@requires("manager")
def dashboard():
    now = utcnow()
    zone = reports.shop_zone(settings())
    today = reports.shop_today(zone, now)
    day = reports.Period(today, today + timedelta(days=1), zone)
    week = reports.Period(today - timedelta(days=today.weekday()), day.end, zone)  # from Monday
    chart = reports.Period(today - timedelta(days=CHART_DAYS - 1), day.end, zone)
    pending = list(Order.select(Order, Customer).join(Customer, JOIN.LEFT_OUTER, on=(Order.customer == Customer.id))
                   .where(Order.status == "pending").order_by(Order.created_at).limit(50))
    overdue = orders.overdue_orders(settings(), now)
    return render_template(
        "reports.html", now=now,
        today=_channel_table(reports.sales_by_channel(day.start, day.stop)),
        week=_channel_table(reports.sales_by_channel(week.start, week.stop)),
        pending=pending, overdue=overdue[:50], overdue_count=len(overdue),
        overdue_rate=reports.overdue_rate(settings(), week.start, week.stop),
        processing=reports.processing_time(week.start, week.stop),
        top_products=reports.sales_by_product(week.start, week.stop, limit=10),
        sales_chart=_sales_chart(chart),
        processing_chart=_processing_chart(chart),
        overdue_hours=settings().orders.overdue_after_hours)


def _channel_table(rows: list[dict]) -> dict:
    return {"rows": rows, "orders": sum(r["orders"] for r in rows), "total_cents": sum(r["total_cents"] for r in rows)}


def _sales_chart(period: reports.Period):
    days = reports.sales_by_day(period)
    return bar_chart([(d["day"][5:], d["total_cents"] / 100) for d in days],
                     title=f"Sales per day, last {CHART_DAYS} days", value_label=lambda v: f"{v:,.0f}")


def _processing_chart(period: reports.Period):
    points = [(day.first.strftime("%m-%d"), reports.processing_time(day.start, day.stop)["p50_hours"])
              for day in period.days()]
    return bar_chart(points, title="Median hours from confirmation to shipment, per day shipped",
                     value_label=lambda v: f"{v:.1f} h")


# -- reports for any range of the shop's days, each downloadable as CSV and XLSX --------------

SALES_VIEWS = {
    "product": ("Sales by product", [Column("sku", "SKU"), Column("name", "Product"), Column("qty", "Quantity", "int"),
                                     Column("total_cents", "Sales", "money")]),
    "category": ("Sales by category", [Column("category", "Category"), Column("orders", "Orders", "int"),
                                       Column("qty", "Quantity", "int"), Column("total_cents", "Sales", "money")]),
    "channel": ("Sales by channel", [Column("channel", "Channel"), Column("orders", "Orders", "int"),
                                     Column("total_cents", "Sales", "money")]),
    "employee": ("Sales by employee", [Column("employee", "Employee"), Column("orders", "Orders taken", "int"),
                                       Column("total_cents", "Sales", "money"), Column("shipped", "Orders shipped", "int"),
                                       Column("mean_hours_to_ship", "Average hours to ship", "number")]),
    "takings": ("Takings", [Column("day", "Day"), Column("method", "Method"), Column("payments", "Payments", "int"),
                            Column("taken_cents", "Taken", "money"), Column("refunded_cents", "Refunded", "money"),
                            Column("net_cents", "Net", "money")]),
}
NOT_SUMMED = {"category": {"orders"}}  # an order spans categories: its count per category does not add up
INVENTORY_COLUMNS = [Column("sku", "SKU"), Column("name", "Product"), Column("category", "Category"),
                     Column("on_hand", "On hand", "int"),
                     Column("cost_cents", "Unit cost", "money"), Column("value_cents", "Value at cost", "money")]
DEFAULT_DAYS = 7
MAX_DAYS = 3 * 366
EARLIEST = date(2000, 1, 1)


@blueprint.get("/reports/sales")
@requires("manager")
def sales_report():
    by = request.args.get("by", "product")
    if by not in SALES_VIEWS:
        by = "product"
    title, columns = SALES_VIEWS[by]
    zone = reports.shop_zone(settings())
    first, last, errors = report_days(zone)
    fmt = request.args.get("format")
    if errors:
        return render_template("reports_sales.html", title=title, by=by, views=SALES_VIEWS, columns=columns, rows=[],
                               totals={}, first=request.args.get("from", ""), last=request.args.get("to", ""),
                               errors=errors), 422
    period = reports.period_of_days(first, last, zone)
    if by == "product":
        rows = reports.sales_by_product(period.start, period.stop, limit=None)
    elif by == "category":
        rows = reports.sales_by_category(period.start, period.stop)
    elif by == "channel":
        rows = reports.sales_by_channel(period.start, period.stop)
    elif by == "employee":
        rows = reports.sales_by_employee(period.start, period.stop)
    else:
        rows = payments.takings(period)
    if fmt in FORMATS:
        return download(rows, columns, fmt, f"sales-by-{by}-{first.isoformat()}-to-{last.isoformat()}")
    totals = {c.key: sum(r[c.key] or 0 for r in rows) for c in columns
              if c.kind in ("int", "money") and c.key not in NOT_SUMMED.get(by, ())}
    return render_template("reports_sales.html", title=title, by=by, views=SALES_VIEWS, columns=columns, rows=rows,
                           totals=totals, first=first.isoformat(), last=last.isoformat(), errors={})


@blueprint.get("/reports/inventory-value")
@requires("manager")
def inventory_value_report():
    rows = reports.inventory_value()
    if request.args.get("format") in FORMATS:
        stamp = reports.shop_today(reports.shop_zone(settings())).isoformat()
        return download(rows, INVENTORY_COLUMNS, request.args["format"], f"inventory-value-{stamp}")
    return render_template("reports_inventory.html", rows=rows, columns=INVENTORY_COLUMNS, now=utcnow(),
                           total_cents=sum(r["value_cents"] for r in rows), units=sum(r["on_hand"] for r in rows))


def report_days(zone, default_days: int = DEFAULT_DAYS) -> tuple[date | None, date | None, dict[str, str]]:
    """The report's first and last shop day from ?from=&to= (YYYY-MM-DD), or {field: one sentence};
    default: the last `default_days` days, today included."""
    today = reports.shop_today(zone)
    errors: dict[str, str] = {}
    found = {}
    for name, default in (("from", today - timedelta(days=default_days - 1)), ("to", today)):
        raw = (request.args.get(name) or "").strip()
        if not raw:
            found[name] = default
            continue
        try:
            found[name] = date.fromisoformat(raw)
        except ValueError:
            errors[name] = f"{raw!r} is not a date: use YYYY-MM-DD."
            continue
        if not EARLIEST <= found[name] <= date(9998, 12, 31):
            errors[name] = f"Choose a day from {EARLIEST.isoformat()} on."
    if not errors and found["to"] < found["from"]:
        errors["to"] = "The last day comes before the first day."
    elif not errors and (found["to"] - found["from"]).days + 1 > MAX_DAYS:
        errors["to"] = f"A report covers at most {MAX_DAYS} days."
    if errors:
        return None, None, errors
    return found["from"], found["to"], errors
