"""The runbooks package's panel on /ops: how many runbooks the box has, the runs that need someone
(waiting for a confirmation, interrupted) and the latest runs, each linking to its page."""
from __future__ import annotations

from appliance.config import Settings
from appliance.panels import Panel, register_panel

from . import engine
from .loader import load_library

SHOWN_RUNS = 5


def runbooks_panel(current: Settings) -> Panel:
    library = load_library()
    runs = engine.runs(current)
    needing = [r for r in runs if r.status in ("waiting", "interrupted")]
    rows = [(f"{r.runbook} · {r.id}", f"{r.status}{' — ' + r.reason if r.reason else ''}")
            for r in (needing or runs)[:SHOWN_RUNS]]
    if needing:
        first = needing[0]
        status = "warn"
        summary = (f"{len(needing)} run(s) need someone: {first.runbook} ({first.id}) is {first.status}"
                   f"{' — ' + first.reason if first.reason else ''}.")
    else:
        status = "ok"
        summary = f"{len(library)} runbooks ready; {len(runs)} run(s) on record."
    return Panel(status=status, summary=summary, rows=rows, links=[("All runbooks and runs", "/ops/runbooks")])


register_panel("runbooks", "Runbooks and drills", runbooks_panel)
