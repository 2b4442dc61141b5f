"""Manager dashboard: sales today and this week by channel, approvals waiting, overdue orders, charts.

Days are UTC days, like every time the box stores; the page says so.
"""
from __future__ import annotations

from datetime import datetime, timedelta

from flask import Blueprint, render_template
from peewee import JOIN

from appliance import orders, reports
from appliance.models import Customer, Order, utcnow

from . import settings
from .charts import bar_chart
from .security import requires

blueprint = Blueprint("reports", __name__)

CHART_DAYS = 14


@blueprint.get("/reports")
@requires("manager")
def dashboard():
    now = utcnow()
    today = datetime(now.year, now.month, now.day)
    week_start = today - timedelta(days=today.weekday())  # Monday
    tomorrow = today + timedelta(days=1)
    chart_start = today - timedelta(days=CHART_DAYS - 1)
    pending = list(Order.select(Order, Customer).join(Customer, JOIN.LEFT_OUTER, on=(Order.customer == Customer.id))
                   .where(Order.status == "pending").order_by(Order.created_at).limit(50))
    overdue = orders.overdue_orders(settings(), now)
    return render_template(
        "reports.html", now=now,
        today=_channel_table(reports.sales_by_channel(today, tomorrow)),
        week=_channel_table(reports.sales_by_channel(week_start, tomorrow)),
        pending=pending, overdue=overdue[:50], overdue_count=len(overdue),
        overdue_rate=reports.overdue_rate(settings(), week_start, tomorrow),
        processing=reports.processing_time(week_start, tomorrow),
        top_products=reports.sales_by_product(week_start, tomorrow, limit=10),
        sales_chart=_sales_chart(chart_start, tomorrow),
        processing_chart=_processing_chart(chart_start, CHART_DAYS),
        overdue_hours=settings().orders.overdue_after_hours)


def _channel_table(rows: list[dict]) -> dict:
    return {"rows": rows, "orders": sum(r["orders"] for r in rows), "total_cents": sum(r["total_cents"] for r in rows)}


def _sales_chart(start: datetime, end: datetime):
    days = reports.sales_by_day(start, end)
    return bar_chart([(d["day"][5:], d["total_cents"] / 100) for d in days],
                     title=f"Sales per day, last {CHART_DAYS} days", value_label=lambda v: f"{v:,.0f}")


def _processing_chart(start: datetime, days: int):
    points = []
    for i in range(days):
        day = start + timedelta(days=i)
        median = reports.processing_time(day, day + timedelta(days=1))["p50_hours"]
        points.append((day.strftime("%m-%d"), median))
    return bar_chart(points, title="Median hours from confirmation to shipment, per day shipped",
                     value_label=lambda v: f"{v:.1f} h")
