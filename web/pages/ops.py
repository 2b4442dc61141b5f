"""The IT page (/ops): one panel per concern, from a registry other packages plug into.

A package adds or replaces a panel without touching templates:

    from web.pages.ops import Panel, register_panel
    register_panel("backups", "Backups", lambda settings: Panel(status="ok", summary="3 copies", rows=[...]))

A panel with more than label/value rows names its own template (`body`, under templates/ops/) and
passes what it needs in `data`; `wide` panels take the whole width of the page.

Panels here: readiness (core), health checks (monitors: state of every check, acknowledge, silence,
maintenance windows), backups (backup catalog: copies per target, verification, 3-2-1, RPO), and a
placeholder for runbooks until that package exists.
A panel that raises shows as "unknown" with a short note; it never takes the page down.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Callable

from flask import Blueprint, flash, g, redirect, render_template, request, url_for

from appliance import health
from appliance.config import Settings
from appliance.models import utcnow

from . import from_shop_clock, settings, when
from .forms import FORM, FormError, whole_number
from .security import requires

blueprint = Blueprint("ops", __name__)
log = logging.getLogger(__name__)

STATUSES = ("ok", "warn", "crit", "unknown", "placeholder")


@dataclass
class Panel:
    status: str = "unknown"                     # one of STATUSES: colours the panel
    summary: str = ""                           # one sentence
    rows: list[tuple[str, str]] = field(default_factory=list)        # (label, value) pairs
    links: list[tuple[str, str]] = field(default_factory=list)       # (text, url) pairs
    title: str = ""                             # filled from the registry
    key: str = ""                               # filled from the registry (the panel's anchor)
    body: str = ""                              # optional template drawn below the rows
    data: dict = field(default_factory=dict)    # what `body` shows
    wide: bool = False                          # takes the whole width of the page


@dataclass
class PanelEntry:
    key: str
    title: str
    render: Callable[[Settings], Panel]
    placeholder: bool = False


PANELS: list[PanelEntry] = []


def register_panel(key: str, title: str, render: Callable[[Settings], Panel]) -> None:
    """Adds a panel, or replaces the one with the same key (keeping its place on the page)."""
    entry = PanelEntry(key, title, render)
    for i, existing in enumerate(PANELS):
        if existing.key == key:
            PANELS[i] = entry
            return
    PANELS.append(entry)


def _placeholder(issue: str, what: str) -> Callable[[Settings], Panel]:
    def render(_settings: Settings) -> Panel:
        return Panel(status="placeholder", summary=f"Not connected yet: {what} ({issue}).")
    return render


def _readiness(_settings: Settings) -> Panel:
    """What the core knows without the monitors: does this box accept writes right now?"""
    ready, reason = health.accepts_writes()
    return Panel(status="ok" if ready else "crit",
                 summary="This box accepts orders." if ready else f"This box does not accept orders: {reason}.",
                 rows=[("Readiness", reason)], links=[("/readyz", "/readyz"), ("/metrics", "/metrics")])


# -- health checks (monitors) -----------------------------------------------------------------

SEVERITY = {"crit": 0, "warn": 1, "unknown": 2, "ok": 3}
SILENCE_CHOICES = [(15, "15 min"), (60, "1 hour"), (240, "4 hours"), (720, "12 hours"), (1440, "1 day"),
                   (4320, "3 days"), (10080, "1 week")]
LONGEST_MINUTES = 7 * 24 * 60
PAST_START_GRACE = timedelta(minutes=5)


def _health(current: Settings) -> Panel:
    from monitors import status
    from monitors.engine import runbook_link

    now = utcnow()
    rows = sorted(status.rows(current), key=lambda r: SEVERITY.get(r["state"], 2))  # stable: catalog order within
    for r in rows:
        r["value_text"] = _value_text(r["value"])
        r["since_age"] = _age(now - r["since"]) if r["since"] else ""
        link = runbook_link(current, r["runbook"])
        r["runbook_url"] = link if link.startswith(("http://", "https://", "/")) else ""
    counts = {s: sum(r["state"] == s for r in rows) for s in SEVERITY}
    worst = next((s for s in ("crit", "warn", "unknown") if counts[s]), "ok") if rows else "unknown"
    summary = (", ".join(f"{counts[s]} {s}" for s in SEVERITY if counts[s]) + f" of {len(rows)} checks."
               if rows else "No check is enabled on this box.")
    if rows and not any(r["last_run_at"] for r in rows):
        summary += (" No check has run yet: the box's scheduler runs them (`appliance serve`), "
                    "or `appliance monitors run-once` does by hand.")
    return Panel(status=worst, summary=summary, body="ops/health.html", wide=True, data={
        "rows": rows, "silences": _active_silences(now), "windows": _current_windows(now),
        "silence_choices": SILENCE_CHOICES, "checks": [r["check"] for r in rows],
        "now": now,
    })


def _value_text(value) -> str:
    if value is None:
        return ""
    try:
        return f"{float(value):g}"
    except ValueError:
        return str(value)[:40]


def _age(delta: timedelta) -> str:
    seconds = max(0, int(delta.total_seconds()))
    if seconds < 120:
        return f"{seconds} s"
    if seconds < 7200:
        return f"{seconds // 60} min"
    if seconds < 2 * 86400:
        return f"{seconds // 3600} h {seconds % 3600 // 60} min"
    return f"{seconds / 86400:.1f} days"


def _active_silences(now: datetime) -> list:
    from monitors.models import Silence
    return list(Silence.select().where(Silence.ends_at > now).order_by(Silence.ends_at).limit(50))


def _current_windows(now: datetime) -> list:
    from monitors.models import MaintenanceWindow
    return list(MaintenanceWindow.select().where(MaintenanceWindow.ends_at > now)
                .order_by(MaintenanceWindow.starts_at).limit(50))


def _enabled_check(name: str | None, *, allow_all: bool = False) -> str:
    from monitors.checks import enabled_checks
    name = (name or "").strip()
    if allow_all and name == "*":
        return name
    if name not in {check.name for check, _ in enabled_checks(settings())}:
        raise FormError("check", "Choose a check this box runs.")
    return name


def _refused(error: FormError, form_id: str, status: int = 422):
    """The page again, with the error next to its field and what was typed kept."""
    errors = {error.field: error.message, FORM: error.message, "_form_id": form_id}
    return ops_page_response(form=request.form, errors=errors, status=status)


@blueprint.post("/ops/health/acknowledge")
@requires("admin")
def acknowledge_check():
    from monitors import engine
    from monitors.models import CheckState
    try:
        check = _enabled_check(request.form.get("check"))
    except FormError as e:
        return _refused(e, "ack")
    note = (request.form.get("note") or "").strip()[:500]
    row = CheckState.get_or_none(CheckState.check == check)
    if row is None or row.state not in engine.PROBLEM_STATES:
        return _refused(FormError("check", f"{check} is {row.state if row else 'not run yet'}: "
                                           "there is no problem to acknowledge."), "ack", status=409)
    user = g.user.username
    ack = engine.acknowledge(check, user, note)
    flash(f"{check} ({ack.state}) acknowledged: reminders stop until its state changes.", "success")
    return redirect(url_for(".ops_page"))


@blueprint.post("/ops/health/silence")
@requires("admin")
def silence_check():
    from monitors import engine
    try:
        check = _enabled_check(request.form.get("check"), allow_all=True)
        minutes = whole_number("minutes", low=1, high=LONGEST_MINUTES)
    except FormError as e:
        return _refused(e, "silence")
    reason = (request.form.get("reason") or "").strip()[:500]
    user, now = g.user.username, utcnow()
    until = now + timedelta(minutes=minutes)
    engine.silence(check, until, user, reason, now=now)
    what = "every check" if check == "*" else check
    flash(f"Notifications for {what} are held back until {when(until)}; states are still recorded.", "success")
    return redirect(url_for(".ops_page"))


@blueprint.post("/ops/health/maintenance")
@requires("admin")
def plan_maintenance():
    from monitors import engine
    now = utcnow()
    try:
        starts = _start_time(request.form.get("start"), now)
        minutes = whole_number("minutes", low=1, high=LONGEST_MINUTES)
        checks = _enabled_check(request.form.get("checks") or "*", allow_all=True)
        reason = (request.form.get("reason") or "").strip()[:500]
        if not reason:
            raise FormError("reason", "Say what the work is: the uptime report shows it.")
    except FormError as e:
        if e.field == "check":
            e = FormError("checks", e.message)
        return _refused(e, "maintenance")
    user = g.user.username
    ends = starts + timedelta(minutes=minutes)
    window = engine.plan_maintenance(starts, ends, user, reason, checks)
    flash(f"Maintenance #{window.id} planned {when(starts)}–{when(ends)[-5:]} "
          f"({'all checks' if checks == '*' else checks}): no notifications, and uptime counts it as planned.",
          "success")
    return redirect(url_for(".ops_page"))


def _start_time(raw: str | None, now: datetime) -> datetime:
    """Empty means now. A start in the past would relabel downtime that already happened as planned."""
    raw = (raw or "").strip()
    if not raw:
        return now
    try:
        start = from_shop_clock(datetime.fromisoformat(raw)).replace(second=0, microsecond=0)
    except ValueError:
        raise FormError("start", f"Enter a date and time like 2026-03-01 22:00 ({settings().shop.timezone}).") from None
    if start < now - PAST_START_GRACE:
        raise FormError("start", "A maintenance window cannot start in the past: "
                                 "that would turn recorded downtime into planned time.")
    return start


# -- backups ----------------------------------------------------------------------------------

BACKUP_ROWS = 10


def _backups(current: Settings) -> Panel:
    from backup import status as backup_status
    from backup.models import BackupSet

    configured = current.backup.targets
    views = backup_status.backups(current, limit=BACKUP_ROWS)
    fresh = backup_status.freshness(current)
    replication = _replication(current)
    replication_ok = bool(replication and replication.get("running") and replication.get("lag_seconds") is not None
                          and replication["lag_seconds"] <= fresh.rpo_seconds)
    # Columns: the configured targets, then any target that still holds a copy but left the config.
    targets = [(t.name, f"{t.kind} · {t.medium}{' · offsite' if t.offsite else ''}") for t in configured]
    known = {name for name, _ in targets}
    for view in views:
        for c in view.copies:
            if c.target not in known:
                targets.append((c.target, "not configured any more"))
                known.add(c.target)
    rows = [{"view": v, "cells": {c.target: c for c in v.copies}} for v in views]

    if not configured:
        status, summary = "crit", "No backup targets are configured: add [[backup.targets]] to appliance.toml."
    elif fresh.backup_id is None:
        status, summary = "crit", "There is no restorable backup yet."
    elif not fresh.meets_rpo and not replication_ok:
        status, summary = "crit", (f"The newest restorable backup is {_age(timedelta(seconds=fresh.age_seconds))} old, "
                                   f"older than the RPO ({_age(timedelta(seconds=fresh.rpo_seconds))}).")
    elif views and not views[0].rule_321:
        status, summary = "warn", f"The newest backup does not meet the 3-2-1 rule: {views[0].rule_detail}."
    else:
        status, summary = "ok", "The newest backup is within the RPO and meets the 3-2-1 rule."
    return Panel(status=status, summary=summary, body="ops/backups.html", wide=True, data={
        "rows": rows, "targets": targets, "fresh": fresh, "total": BackupSet.select().count(),
        "fresh_age": _age(timedelta(seconds=fresh.age_seconds)) if fresh.age_seconds is not None else "",
        "rpo": _age(timedelta(seconds=fresh.rpo_seconds)),
        "replication": replication, "replication_ok": replication_ok,
    })


def _replication(current: Settings) -> dict | None:
    try:
        from backup.replication import facts
        return facts(current)
    except Exception as e:  # noqa: BLE001 - replication trouble must not hide the backups
        log.warning("replication facts unavailable: %s", e)
        return {"running": False, "lag_seconds": None, "reason": "its state could not be read (see the server log)"}


def size_text(n: int | None) -> str:
    if n is None:
        return ""
    for unit in ("B", "KiB", "MiB", "GiB"):
        if n < 1024 or unit == "GiB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return ""


register_panel("readiness", "Readiness", _readiness)
register_panel("health", "Health checks", _health)
register_panel("backups", "Backups", _backups)
PANELS.append(PanelEntry("runbooks", "Runbooks and drills",
                         _placeholder("runbooks issue", "runbooks, runs and drill results"), True))


def rendered_panels(current: Settings) -> list[Panel]:
    shown = []
    for entry in PANELS:
        try:
            panel = entry.render(current)
        except Exception:  # noqa: BLE001 - one broken panel must not hide the others
            log.exception("ops panel %s failed", entry.key)
            panel = Panel(status="unknown", summary="This panel failed to load; see the server log.")
        panel.title, panel.key = entry.title, entry.key
        if panel.status not in STATUSES:
            panel.status = "unknown"
        shown.append(panel)
    return shown


def ops_page_response(form=None, errors=None, status: int = 200):
    return render_template("ops.html", panels=rendered_panels(settings()), form=form or {}, errors=errors or {},
                           size_text=size_text), status


@blueprint.get("/ops")
@requires("admin")
def ops_page():
    return ops_page_response()
