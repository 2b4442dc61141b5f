"""The /ops page's panels: one extension point, each package registers its own.

A panel is a function of the settings that returns a `Panel`: a status (colours it), one sentence,
label/value rows, links, and optionally a template (`body`, a path under a `templates/` folder: the
web's own or the registering package's `template_folder`) drawn with `data`. The web page only
calls `rendered(settings)`; a panel that raises shows as "unknown" and never takes the page down.

    from appliance.panels import Panel, register_panel
    register_panel("backups", "Backups", lambda settings: Panel(status="ok", summary="3 copies"))
"""
from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

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
