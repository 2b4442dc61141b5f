"""Reports for managers: sales, processing time, overdue rate."""
from __future__ import annotations

from datetime import date, datetime, timedelta

from flask import current_app, jsonify, request

from appliance import payments, reports
from appliance.errors import Invalid
from appliance.models import CHANNELS

from . import actor, choice_query, int_arg, integer_query, route
from .routes_orders import _choice
from .schemas import ShiftCloseIn

DAY = {"type": "string", "format": "date"}
PERIOD = {"from": ("first day (ISO date, the shop's day: shop.timezone; default 29 days before today)", DAY),
          "to": ("end day, exclusive (default tomorrow); after from, at most 731 days after it", DAY)}


def period() -> reports.Period:
    zone = reports.shop_zone(current_app.config["SETTINGS"])
    today = reports.shop_today(zone)
    first = _date_arg("from", today - timedelta(days=29))
    end = _date_arg("to", today + timedelta(days=1))
    if end <= first:
        raise Invalid("'to' must be after 'from'.", [{"field": "to", "message": "before from"}])
    if end - first > timedelta(days=731):
        raise Invalid("A report covers at most two years.", [{"field": "from", "message": "period too long"}])
    return reports.Period(first, end, zone)


def _date_arg(name: str, default: date) -> date:
    raw = request.args.get(name)
    if raw is None:
        return default
    try:
        return datetime.fromisoformat(raw).date()  # a date; a time, if given, is ignored
    except ValueError:
        raise Invalid(f"Query parameter {name} must be an ISO date.", [{"field": name, "message": "not a date"}]) from None


def _period_fields(p: reports.Period) -> dict:
    return {"from": p.first.isoformat(), "to": p.end.isoformat(), "timezone": p.zone.key}


@route("GET", "/reports/sales", role="manager", summary="Sales by day, channel and product for a period.",
       query=PERIOD | {"channel": choice_query("only this channel (by-day figures)", CHANNELS)}, answer="SalesReport")
def sales_report():
    p = period()
    return jsonify({**_period_fields(p),
                    "by_day": reports.sales_by_day(p, _choice("channel", CHANNELS)),
                    "by_channel": reports.sales_by_channel(p.start, p.stop),
                    "by_product": reports.sales_by_product(p.start, p.stop)})


@route("GET", "/reports/processing", role="manager", summary="Order processing time (confirmed to shipped) and overdue rate.",
       query=PERIOD, answer="ProcessingReport")
def processing_report():
    p = period()
    return jsonify({**_period_fields(p),
                    "processing_time": reports.processing_time(p.start, p.stop),
                    "overdue": reports.overdue_rate(current_app.config["SETTINGS"], p.start, p.stop)})


@route("GET", "/reports/takings", role="manager", summary="Takings per payment method per shop day: taken, refunded and net.",
       query=PERIOD, answer="TakingsReport")
def takings_report():
    p = period()
    rows = payments.takings(p)
    by_method: dict[str, dict] = {}
    for row in rows:
        entry = by_method.setdefault(row["method"], {"method": row["method"], "payments": 0, "taken_cents": 0,
                                                     "refunded_cents": 0, "net_cents": 0})
        for name in ("payments", "taken_cents", "refunded_cents", "net_cents"):
            entry[name] += row[name]
    return jsonify({**_period_fields(p), "by_day": rows, "by_method": list(by_method.values()),
                    "total": {"taken_cents": sum(r["taken_cents"] for r in rows),
                              "refunded_cents": sum(r["refunded_cents"] for r in rows),
                              "net_cents": sum(r["net_cents"] for r in rows)}})


@route("POST", "/shifts/close", role="staff",
       summary="Close the till's shift: cash expected from the payments since the last close against cash counted.",
       body=ShiftCloseIn, responses={201: "closed; the difference (counted - expected) is recorded"}, answer="Shift")
def close_shift(body: ShiftCloseIn):
    response = jsonify(payments.close_shift(body.counted_cash_cents, actor(), float_cents=body.float_cents, note=body.note))
    response.status_code = 201
    return response


@route("GET", "/shifts", role="manager", summary="Shift closes, newest first: takings per method, expected and counted cash.",
       query={"limit": integer_query("how many", 1, 200)}, answer="ShiftList")
def list_shifts():
    return jsonify({"shifts": payments.shift_closes(int_arg("limit", 50, 1, 200))})
