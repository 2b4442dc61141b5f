"""The IT page (/ops): one panel per concern, from a registry other packages plug into.

A package adds or replaces a panel without touching templates:

    from web.pages.ops import Panel, register_panel
    register_panel("backups", "Backups", lambda settings: Panel(status="ok", summary="3 copies", rows=[...]))

Until monitors, backups and runbooks register theirs, clearly marked placeholders stand in.
A panel that raises shows as "unknown" with a short note; it never takes the page down.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Callable

from flask import Blueprint, render_template

from appliance import health
from appliance.config import Settings

from . import settings
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


register_panel("readiness", "Readiness", _readiness)
PANELS.extend([
    PanelEntry("health", "Health checks", _placeholder("monitors, issue 4", "check states and alerts"), True),
    PanelEntry("backups", "Backups", _placeholder("backups issue", "last backups, copies per target and the 3-2-1 rule"), True),
    PanelEntry("runbooks", "Runbooks and drills", _placeholder("runbooks issue", "runbooks, runs and drill results"), True),
])


def rendered_panels(current: Settings) -> list[Panel]:
    shown = []
    for entry in PANELS:
        try:
            panel = entry.render(current)
        except Exception:  # noqa: BLE001 - one broken panel must not hide the others
            log.exception("ops panel %s failed", entry.key)
            panel = Panel(status="unknown", summary="This panel failed to load; see the server log.")
        panel.title = entry.title
        if panel.status not in STATUSES:
            panel.status = "unknown"
        shown.append(panel)
    return shown


@blueprint.get("/ops")
@requires("admin")
def ops_page():
    return render_template("ops.html", panels=rendered_panels(settings()))
