"""Monthly uptime for managers (/reports/uptime): availability per service with planned maintenance
apart, incidents with start/end/duration/cause, MTTR and MTBF, a chart of minutes down per day, and
the same report as a standalone HTML file to keep (/reports/uptime/download).

The figures come from the monitors' uptime ledger (monitors/uptime.py), the same code as
`appliance monitors report`; the downloaded file is byte for byte what that command writes.
"""
from __future__ import annotations

import calendar
import re
from datetime import datetime

from flask import Blueprint, Response, render_template, request
from markupsafe import Markup

from appliance.models import utcnow

from . import settings
from .security import requires

blueprint = Blueprint("uptime", __name__)


class MonthError(ValueError):
    pass


def _month(raw: str | None, now: datetime) -> tuple[int, int]:
    """YYYY-MM from the month picker; empty means the current month (to date)."""
    if not raw:
        return now.year, now.month
    match = re.fullmatch(r"(\d{4})-(\d{2})", raw.strip())
    if not match or not 1 <= int(match[2]) <= 12 or int(match[1]) < 2000:
        raise MonthError(f"{raw!r} is not a month like {now:%Y-%m}.")
    year, month = int(match[1]), int(match[2])
    if (year, month) > (now.year, now.month):
        raise MonthError(f"{raw} has not started yet: there is no uptime to report.")
    return year, month


def _shift(year: int, month: int, by: int) -> tuple[int, int]:
    index = year * 12 + month - 1 + by
    return index // 12, index % 12 + 1


@blueprint.get("/reports/uptime")
@requires("manager")
def uptime_page():
    from monitors import uptime
    from monitors.models import MaintenanceWindow

    now = utcnow()
    try:
        year, month = _month(request.args.get("month"), now)
    except MonthError as e:
        return render_template("uptime.html", error=str(e), month_value=request.args.get("month", ""),
                               current=f"{now:%Y-%m}", report=None), 422
    report = uptime.month_report(settings(), year, month, now=now)
    start = datetime(year, month, 1)
    end = datetime(*_shift(year, month, 1), 1)
    windows = list(MaintenanceWindow.select()
                   .where((MaintenanceWindow.starts_at < end) & (MaintenanceWindow.ends_at > start))
                   .order_by(MaintenanceWindow.starts_at))
    previous, following = _shift(year, month, -1), _shift(year, month, 1)
    return render_template(
        "uptime.html", report=report, error=None, now=now, windows=windows,
        month_value=f"{year:04d}-{month:02d}", month_name=f"{calendar.month_name[month]} {year}",
        to_date=(year, month) == (now.year, now.month), current=f"{now:%Y-%m}",
        previous=f"{previous[0]:04d}-{previous[1]:02d}",
        following=f"{following[0]:04d}-{following[1]:02d}" if following <= (now.year, now.month) else None,
        charts={s.name: _scalable(uptime.daily_chart_svg(s)) for s in report.services},
        percent=uptime.percent, duration=_duration, coverage=uptime.coverage, share=uptime.share,
        WELL_COVERED=uptime.WELL_COVERED)


def _duration(seconds: float | None) -> str:
    """Like the report file's durations, but "2 h 38 min" wraps only between "2 h" and "38 min"."""
    from monitors.uptime import duration_text
    return re.sub(r"(\d) (\w)", "\\1\u00a0\\2", duration_text(seconds))


def _scalable(svg: str) -> Markup:
    """The report's chart has a fixed size (right for the standalone file); on the page it follows the
    width of its card, so it gets a viewBox."""
    match = re.match(r"<svg ([^>]*?)width='(\d+)' height='(\d+)'", svg)
    if match and "viewBox" not in svg[:match.end()]:
        svg = svg.replace("<svg ", f"<svg viewBox='0 0 {match[2]} {match[3]}' ", 1)
    return Markup(svg)


@blueprint.get("/reports/uptime/download")
@requires("manager")
def uptime_download():
    from monitors import uptime
    from monitors.engine import box_name

    try:
        year, month = _month(request.args.get("month"), utcnow())
    except MonthError as e:
        return Response(f"{e}\n", status=422, mimetype="text/plain")
    report = uptime.month_report(settings(), year, month)
    box = re.sub(r"[^A-Za-z0-9._-]+", "-", box_name(settings())).strip("-") or "box"
    filename = f"uptime-{box}-{year:04d}-{month:02d}.html"
    return Response(uptime.render_html(report), mimetype="text/html",
                    headers={"Content-Disposition": f'attachment; filename="{filename}"'})
