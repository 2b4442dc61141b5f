"""The uptime ledger: availability per service per day and month from the recorded state changes.

A service is *down* while any of its checks is crit, *unknown* while one is unknown (not monitored,
shown separately) and *up* otherwise. Time inside a maintenance window covering one of its checks is
*planned*: excluded from availability and shown on its own. Availability = up / (up + down).
Incidents are the unplanned down stretches; MTTR is their mean length, MTBF the up time per incident.
"""
from __future__ import annotations

import calendar
import html
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path

from appliance.config import Settings
from appliance.models import utcnow

from .engine import box_name
from .models import MaintenanceWindow, StateChange

Span = tuple[datetime, datetime]


@dataclass
class Figures:
    start: datetime
    end: datetime
    up_seconds: float = 0.0
    down_seconds: float = 0.0
    unknown_seconds: float = 0.0
    planned_seconds: float = 0.0

    @property
    def availability(self) -> float | None:
        measured = self.up_seconds + self.down_seconds
        return self.up_seconds / measured if measured else None


@dataclass
class Incident:
    start: datetime
    end: datetime
    cause: str
    ongoing: bool = False

    @property
    def duration_seconds(self) -> float:
        return (self.end - self.start).total_seconds()


@dataclass
class ServiceReport:
    name: str
    checks: list[str]
    total: Figures
    days: list[Figures]
    incidents: list[Incident]

    @property
    def mttr_seconds(self) -> float | None:
        ended = [i.duration_seconds for i in self.incidents if not i.ongoing]
        return sum(ended) / len(ended) if ended else None

    @property
    def mtbf_seconds(self) -> float | None:
        return self.total.up_seconds / len(self.incidents) if self.incidents else None


@dataclass
class MonthReport:
    box: str
    year: int
    month: int
    generated_at: datetime
    services: list[ServiceReport] = field(default_factory=list)


# ---- timelines -------------------------------------------------------------------------------

def check_timeline(check: str, start: datetime, end: datetime) -> list[tuple[datetime, datetime, str]]:
    """(from, to, state) pieces covering [start, end); before the first recorded change: unknown."""
    before = (StateChange.select().where((StateChange.check == check) & (StateChange.at <= start))
              .order_by(StateChange.at.desc(), StateChange.id.desc()).first())
    state, cursor, pieces = (before.to_state if before else "unknown"), start, []
    changes = (StateChange.select().where((StateChange.check == check) & (StateChange.at > start) & (StateChange.at < end))
               .order_by(StateChange.at, StateChange.id))
    for change in changes:
        pieces.append((cursor, change.at, state))
        cursor, state = change.at, change.to_state
    pieces.append((cursor, end, state))
    return [p for p in pieces if p[1] > p[0]]


def service_timeline(checks: list[str], start: datetime, end: datetime) -> list[tuple[datetime, datetime, str]]:
    """up / down / unknown pieces of a service made of `checks`, adjacent equal pieces merged."""
    timelines = [check_timeline(c, start, end) for c in checks]
    cuts = sorted({start, end, *(p[0] for t in timelines for p in t)})
    pieces: list[tuple[datetime, datetime, str]] = []
    for a, b in zip(cuts, cuts[1:]):
        states = {_state_at(t, a) for t in timelines}
        state = "down" if "crit" in states else "unknown" if "unknown" in states else "up"
        if pieces and pieces[-1][2] == state and pieces[-1][1] == a:
            pieces[-1] = (pieces[-1][0], b, state)
        else:
            pieces.append((a, b, state))
    return pieces


def _state_at(timeline, at: datetime) -> str:
    return next(p[2] for p in timeline if p[0] <= at < p[1])


def planned_spans(checks: list[str], start: datetime, end: datetime) -> list[Span]:
    windows = MaintenanceWindow.select().where((MaintenanceWindow.starts_at < end) & (MaintenanceWindow.ends_at > start))
    spans = sorted((max(w.starts_at, start), min(w.ends_at, end)) for w in windows if any(w.covers(c) for c in checks))
    merged: list[Span] = []
    for a, b in spans:
        if merged and a <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(b, merged[-1][1]))
        else:
            merged.append((a, b))
    return merged


def _minus(span: Span, holes: list[Span]) -> list[Span]:
    """The parts of `span` outside every hole."""
    parts, (a, b) = [], span
    for h0, h1 in holes:
        if h1 <= a or h0 >= b:
            continue
        if h0 > a:
            parts.append((a, h0))
        a = max(a, h1)
    if a < b:
        parts.append((a, b))
    return parts


# ---- figures ---------------------------------------------------------------------------------

def figures(checks: list[str], start: datetime, end: datetime) -> Figures:
    result = Figures(start, end)
    planned = planned_spans(checks, start, end)
    result.planned_seconds = sum((b - a).total_seconds() for a, b in planned)
    for a, b, state in service_timeline(checks, start, end):
        seconds = sum((y - x).total_seconds() for x, y in _minus((a, b), planned))
        setattr(result, f"{state}_seconds", getattr(result, f"{state}_seconds") + seconds)
    return result


def incidents(checks: list[str], start: datetime, end: datetime, now: datetime | None = None) -> list[Incident]:
    """Unplanned down stretches in [start, end), each with the reason of the change that began it."""
    now = now or utcnow()
    planned = planned_spans(checks, start, end)
    found = []
    for a, b, state in service_timeline(checks, start, end):
        if state != "down":
            continue
        for x, y in _minus((a, b), planned):
            found.append(Incident(x, y, _cause(checks, a), ongoing=(y >= min(end, now) and end >= now)))
    return found


def _cause(checks: list[str], at: datetime) -> str:
    change = (StateChange.select().where(StateChange.check.in_(checks) & (StateChange.to_state == "crit")
                                         & (StateChange.at <= at))
              .order_by(StateChange.at.desc()).first())
    return f"{change.check}: {change.reason}" if change else "unknown"


def service_report(name: str, checks: list[str], start: datetime, end: datetime, now: datetime) -> ServiceReport:
    end = min(end, now)  # the future has no uptime yet
    days, day = [], start
    while day < end:
        days.append(figures(checks, day, min(day + timedelta(days=1), end)))
        day += timedelta(days=1)
    return ServiceReport(name, checks, figures(checks, start, end), days, incidents(checks, start, end, now))


def month_report(settings: Settings, year: int, month: int, now: datetime | None = None) -> MonthReport:
    now = now or utcnow()
    start = datetime(year, month, 1)
    end = start + timedelta(days=calendar.monthrange(year, month)[1])
    report = MonthReport(box_name(settings), year, month, now)
    for name, checks in settings.monitors.uptime_services.items():
        report.services.append(service_report(name, checks, start, end, now))
    return report


# ---- presentation ----------------------------------------------------------------------------

def percent(value: float | None) -> str:
    return "n/a" if value is None else f"{value * 100:.3f}%"


def duration_text(seconds: float | None) -> str:
    if seconds is None:
        return "n/a"
    seconds = int(round(seconds))
    if seconds < 3600:
        return f"{seconds // 60} min {seconds % 60} s" if seconds % 60 else f"{seconds // 60} min"
    hours, rest = divmod(seconds, 3600)
    if hours < 48:
        return f"{hours} h {rest // 60} min"
    return f"{hours / 24:.1f} days"


# Availability over less than this share of the period is shown with a warning: 100 % over three
# monitored minutes of a month says little about the month.
WELL_COVERED = 0.99


def coverage(figures) -> tuple[float, float | None]:
    """(monitored seconds, their share of the period that counts): monitored is up + down (the checks
    ran and said something); the period that counts is the report's period less planned maintenance,
    which availability leaves out too. The share is None when nothing of the period counts."""
    monitored = figures.up_seconds + figures.down_seconds
    counted = (figures.end - figures.start).total_seconds() - figures.planned_seconds
    return monitored, (min(1.0, monitored / counted) if counted > 0 else None)


def share(value: float | None) -> str:
    if value is None:
        return "n/a"
    return "under 0.1%" if 0 < value < 0.001 else f"{value * 100:.1f}%"


def write_month_report(settings: Settings, report: MonthReport) -> Path:
    path = settings.path(f"reports/uptime-{report.year:04d}-{report.month:02d}.html")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(render_html(report))
    return path


def render_html(report: MonthReport) -> str:
    e = html.escape
    title = f"Uptime {calendar.month_name[report.month]} {report.year} — {report.box}"
    parts = [f"<!doctype html><html lang='en'><head><meta charset='utf-8'><title>{e(title)}</title>",
             f"<style>{_CSS}</style></head><body><h1>{e(title)}</h1>",
             "<p>Availability = up ÷ (up + down): it is computed over the monitored time only. Planned "
             "maintenance is excluded and shown on its own; unmonitored time (checks not running) is shown too, "
             "and Monitored is up + down with its share of the period less planned maintenance.</p>",
             "<table><tr><th>Service</th><th>Availability</th><th>Down</th><th>Planned</th><th>Unmonitored</th>"
             "<th>Monitored</th><th>Incidents</th><th>MTTR</th><th>MTBF</th></tr>"]
    for s in report.services:
        t = s.total
        monitored, covered = coverage(t)
        parts.append(f"<tr><td>{e(s.name)}</td><td>{percent(t.availability)}</td><td>{duration_text(t.down_seconds)}</td>"
                     f"<td>{duration_text(t.planned_seconds)}</td><td>{duration_text(t.unknown_seconds)}</td>"
                     f"<td>{duration_text(monitored)} ({share(covered)})</td>"
                     f"<td>{len(s.incidents)}</td><td>{duration_text(s.mttr_seconds)}</td><td>{duration_text(s.mtbf_seconds)}</td></tr>")
    parts.append("</table>")
    thin = [s.name for s in report.services
            if s.total.availability is not None and (coverage(s.total)[1] or 0) < WELL_COVERED]
    if thin:
        parts.append(f"<p class='warning'>Monitored for less than {WELL_COVERED:.0%} of the period: {e(', '.join(thin))}. "
                     "Their availability speaks only for the time they were monitored.</p>")
    for s in report.services:
        parts.append(f"<h2>{e(s.name)}</h2>{daily_chart_svg(s)}")
        if s.incidents:
            parts.append("<table><tr><th>Start (UTC)</th><th>End (UTC)</th><th>Duration</th><th>Cause</th></tr>")
            for i in s.incidents:
                end = "ongoing" if i.ongoing else f"{i.end:%Y-%m-%d %H:%M}"
                parts.append(f"<tr><td>{i.start:%Y-%m-%d %H:%M}</td><td>{end}</td>"
                             f"<td>{duration_text(i.duration_seconds)}</td><td>{e(i.cause)}</td></tr>")
            parts.append("</table>")
        else:
            parts.append("<p>No incidents.</p>")
    parts.append(f"<footer>Generated {report.generated_at:%Y-%m-%d %H:%M} UTC by Store Appliance.</footer></body></html>")
    return "\n".join(parts)


def daily_chart_svg(service: ServiceReport, width: int = 640, height: int = 160) -> str:
    """Minutes down (red) and planned (grey) per day, stacked; no JavaScript."""
    days = service.days or []
    left, bottom, top = 40, 20, 10
    plot_h = height - bottom - top
    worst = max([(d.down_seconds + d.planned_seconds) / 60 for d in days] + [60.0])
    step = (width - left) / max(len(days), 1)
    bars = []
    for n, d in enumerate(days):
        x = left + n * step
        down_h = plot_h * (d.down_seconds / 60) / worst
        planned_h = plot_h * (d.planned_seconds / 60) / worst
        base = top + plot_h
        label = f"{d.start:%d}: {percent(d.availability)} available, {d.down_seconds / 60:.0f} min down, {d.planned_seconds / 60:.0f} min planned"
        bars.append(f"<g><title>{html.escape(label)}</title>"
                    f"<rect x='{x + 1:.1f}' y='{base - down_h:.1f}' width='{step - 2:.1f}' height='{down_h:.1f}' fill='#c62828'/>"
                    f"<rect x='{x + 1:.1f}' y='{base - down_h - planned_h:.1f}' width='{step - 2:.1f}' height='{planned_h:.1f}' fill='#9e9e9e'/>"
                    f"<text x='{x + step / 2:.1f}' y='{height - 5}' font-size='9' text-anchor='middle'>{d.start.day}</text></g>")
    axis = (f"<line x1='{left}' y1='{top + plot_h}' x2='{width}' y2='{top + plot_h}' stroke='#333'/>"
            f"<text x='{left - 4}' y='{top + 8}' font-size='9' text-anchor='end'>{worst:.0f} min</text>"
            f"<text x='{left - 4}' y='{top + plot_h}' font-size='9' text-anchor='end'>0</text>")
    return (f"<svg xmlns='http://www.w3.org/2000/svg' width='{width}' height='{height}' role='img' "
            f"aria-label='Minutes down and planned per day for {html.escape(service.name)}'>{axis}{''.join(bars)}</svg>")


_CSS = ("body{font-family:system-ui,sans-serif;max-width:60rem;margin:2rem auto;color:#222}"
        "table{border-collapse:collapse;margin:1rem 0}td,th{border:1px solid #ccc;padding:.3rem .6rem;text-align:left}"
        "th{background:#f3f3f3}footer{margin-top:2rem;color:#777;font-size:.85rem}")
