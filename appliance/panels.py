"""The /ops page's panels: one extension point, each package registers its own.

A panel is a function of the settings that returns a `Panel`: a status (colours it), one sentence,
label/value rows, links, and optionally a template (`body`, a path under a `templates/` folder: the
web's own or the registering package's `template_folder`) drawn with `data`. The web page only
calls `rendered(settings)`; a panel that raises shows as "unknown" and never takes the page down.
The core's own panel, readiness, is registered here, so it exists and comes first whichever
packages' panels the composition root imports (cli/wiring.py `register_panels`).

    from appliance.panels import Panel, register_panel
    register_panel("backups", "Backups", lambda settings: Panel(status="ok", summary="3 copies"))
"""
from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Callable

from . import health
from .config import Settings

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
    template_folder: Path | None = None         # where `body` templates of this panel live


PANELS: list[PanelEntry] = []


def register_panel(key: str, title: str, render: Callable[[Settings], Panel],
                   template_folder: Path | None = None) -> None:
    """Adds a panel, or replaces the one with the same key (keeping its place on the page)."""
    entry = PanelEntry(key, title, render, template_folder)
    for i, existing in enumerate(PANELS):
        if existing.key == key:
            PANELS[i] = entry
            return
    PANELS.append(entry)


def template_folders() -> list[Path]:
    return [entry.template_folder for entry in PANELS if entry.template_folder is not None]


def rendered(settings: Settings) -> list[Panel]:
    shown = []
    for entry in PANELS:
        try:
            panel = entry.render(settings)
        except Exception:  # noqa: BLE001 - one broken panel must not hide the others
            log.exception("ops panel %s failed", entry.key)
            panel = Panel(status="unknown", summary="This panel failed to load; see the server log.")
        panel.title, panel.key = entry.title, entry.key
        if panel.status not in STATUSES:
            panel.status = "unknown"
        shown.append(panel)
    return shown


def age_text(delta: timedelta) -> str:
    """How long ago or how long, as a person reads it on a panel: "90 s", "42 min", "1.5 days"."""
    seconds = max(0, int(delta.total_seconds()))
    if seconds < 120:
        return f"{seconds} s"
    if seconds < 7200:
        return f"{seconds // 60} min"
    if seconds < 2 * 86400:
        return f"{seconds // 3600} h {seconds % 3600 // 60} min"
    return f"{seconds / 86400:.1f} days"


def _readiness(_settings: Settings) -> Panel:
    """What the core knows without the monitors: does this box accept writes right now?"""
    ready, reason = health.accepts_writes()
    return Panel(status="ok" if ready else "crit",
                 summary="This box accepts orders." if ready else f"This box does not accept orders: {reason}.",
                 rows=[("Readiness", reason)], links=[("/readyz", "/readyz"), ("/metrics", "/metrics")])


register_panel("readiness", "Readiness", _readiness)
