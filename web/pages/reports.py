"""Manager dashboard: sales today and this week by channel, approvals waiting, overdue orders, charts.

Days are the shop's days (`shop.timezone`; times are stored in UTC); the page says which zone.
"""
from __future__ import annotations

from datetime import timedelta

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
