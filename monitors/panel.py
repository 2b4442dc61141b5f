"""The monitors' panel on /ops: every check's state (problems first), its latest value, since when,
its runbook; the silences and maintenance windows in force. Registered when imported (the
composition root imports it: cli/wiring.py `register_panels`).

Its buttons post to the web's routes, which run the operations of monitors/operations.py.
"""
from __future__ import annotations

from datetime import datetime
from pathlib import Path

from appliance.config import Settings
from appliance.models import utcnow
from appliance.panels import Panel, age_text, register_panel

from . import status
from .models import MaintenanceWindow, Silence

TEMPLATES = Path(__file__).parent / "templates"
SEVERITY = {"crit": 0, "warn": 1, "unknown": 2, "ok": 3}
SILENCE_CHOICES = [(15, "15 min"), (60, "1 hour"), (240, "4 hours"), (720, "12 hours"), (1440, "1 day"),
                   (4320, "3 days"), (10080, "1 week")]
SHOWN = 50  # silences and windows listed


def health_panel(current: Settings) -> Panel:
    now = utcnow()
    rows = sorted(status.rows(current), key=lambda r: SEVERITY.get(r["state"], 2))  # stable: catalog order within
    for r in rows:
        r["value_text"] = status.value_text(r["value"])
        r["since_age"] = age_text(now - r["since"]) if r["since"] else ""
        # On the box's own page the runbook is one click away on this very box, whatever the alerts link to.
        r["runbook_url"] = f"/ops/runbooks/{r['runbook']}"
    return Panel(status=_worst(rows), summary=_summary(rows), body="ops/health.html", wide=True, data={
        "rows": rows, "silences": _active_silences(now), "windows": _current_windows(now),
        "silence_choices": SILENCE_CHOICES, "checks": [r["check"] for r in rows],
        "now": now,
    })


def _counts(rows: list[dict]) -> dict[str, int]:
    return {s: sum(r["state"] == s for r in rows) for s in SEVERITY}


def _worst(rows: list[dict]) -> str:
    if not rows:
        return "unknown"
    counts = _counts(rows)
    return next((s for s in ("crit", "warn", "unknown") if counts[s]), "ok")


def _summary(rows: list[dict]) -> str:
    if not rows:
        return "No check is enabled on this box."
    counts = _counts(rows)
    summary = ", ".join(f"{counts[s]} {s}" for s in SEVERITY if counts[s]) + f" of {len(rows)} checks."
    if not any(r["last_run_at"] for r in rows):
        summary += (" No check has run yet: the box's scheduler runs them (`appliance serve`), "
                    "or `appliance monitors run-once` does by hand.")
    return summary


def _active_silences(now: datetime) -> list[Silence]:
    return list(Silence.select().where(Silence.ends_at > now).order_by(Silence.ends_at).limit(SHOWN))


def _current_windows(now: datetime) -> list[MaintenanceWindow]:
    return list(MaintenanceWindow.select().where(MaintenanceWindow.ends_at > now)
                .order_by(MaintenanceWindow.starts_at).limit(SHOWN))


register_panel("health", "Health checks", health_panel, template_folder=TEMPLATES)
