"""Reports for managers: sales, processing time, overdue rate."""
from __future__ import annotations

from datetime import datetime, timedelta

from flask import current_app, jsonify, request

from appliance import reports
from appliance.errors import Invalid
from appliance.models import utcnow

from . import route

PERIOD = {"from": "start date (ISO, UTC; default 30 days ago)", "to": "end date, exclusive (default tomorrow)"}


def period() -> tuple[datetime, datetime]:
    today = utcnow().replace(hour=0, minute=0, second=0, microsecond=0)
    start = _date_arg("from", today - timedelta(days=29))
    end = _date_arg("to", today + timedelta(days=1))
    if end <= start:
        raise Invalid("'to' must be after 'from'.", [{"field": "to", "message": "before from"}])
    if end - start > timedelta(days=731):
        raise Invalid("A report covers at most two years.", [{"field": "from", "message": "period too long"}])
    return start, end


def _date_arg(name: str, default: datetime) -> datetime:
    raw = request.args.get(name)
    if not raw:
        return default
    try:
        return datetime.fromisoformat(raw)
    except ValueError:
        raise Invalid(f"Query parameter {name} must be an ISO date.", [{"field": name, "message": "not a date"}]) from None


@route("GET", "/reports/sales", role="manager", summary="Sales by day, channel and product for a period.",
       query=PERIOD | {"channel": "only this channel (by-day figures)"})
def sales_report():
    start, end = period()
    return jsonify({"from": start.date().isoformat(), "to": end.date().isoformat(),
                    "by_day": reports.sales_by_day(start, end, request.args.get("channel") or None),
                    "by_channel": reports.sales_by_channel(start, end),
                    "by_product": reports.sales_by_product(start, end)})


@route("GET", "/reports/processing", role="manager", summary="Order processing time (confirmed to shipped) and overdue rate.",
       query=PERIOD)
def processing_report():
    start, end = period()
    settings = current_app.config["SETTINGS"]
    return jsonify({"from": start.date().isoformat(), "to": end.date().isoformat(),
                    "processing_time": reports.processing_time(start, end),
                    "overdue": reports.overdue_rate(settings, start, end)})
