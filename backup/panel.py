"""The backup package's panel on /ops: the newest backups with their copy on each target
(verification, 3-2-1), the newest restorable copy against the RPO, the continuous copy's lag, and
whether the recovery kit of the current key and targets was exported (`appliance backup kit`).
Registered when imported (the composition root imports it: cli/wiring.py `register_panels`).
"""
from __future__ import annotations

import logging
from datetime import timedelta
from pathlib import Path

from appliance.config import Settings
from appliance.panels import Panel, age_text, register_panel

from . import status as backup_status
from .models import BackupSet

log = logging.getLogger(__name__)

TEMPLATES = Path(__file__).parent / "templates"
BACKUP_ROWS = 10


def backups_panel(current: Settings) -> Panel:
    views = backup_status.backups(current, limit=BACKUP_ROWS)
    fresh = backup_status.freshness(current)
    replication = _replication(current)
    replication_ok = bool(replication and replication.get("running") and replication.get("lag_seconds") is not None
                          and replication["lag_seconds"] <= fresh.rpo_seconds)
    rows = [{"view": v, "cells": {c.target: c for c in v.copies}, "size": size_text(v.payload_bytes)}
            for v in views]
    status, summary = _verdict(current, views, fresh, replication_ok)
    return Panel(status=status, summary=summary, body="ops/backups.html", wide=True, rows=[_kit_row(current)], data={
        "rows": rows, "targets": _columns(current, views), "fresh": fresh, "total": BackupSet.select().count(),
        "fresh_age": age_text(timedelta(seconds=fresh.age_seconds)) if fresh.age_seconds is not None else "",
        "rpo": age_text(timedelta(seconds=fresh.rpo_seconds)),
        "replication": replication, "replication_ok": replication_ok,
    })


def _columns(current: Settings, views: list) -> list[tuple[str, str]]:
    """The configured targets, then any target that still holds a copy but left the config."""
    targets = [(t.name, f"{t.kind} · {t.medium}{' · offsite' if t.offsite else ''}") for t in current.backup.targets]
    known = {name for name, _ in targets}
    for view in views:
        for c in view.copies:
            if c.target not in known:
                targets.append((c.target, "not configured any more"))
                known.add(c.target)
    return targets


def _verdict(current: Settings, views: list, fresh, replication_ok: bool) -> tuple[str, str]:
    if not current.backup.targets:
        return "crit", "No backup targets are configured: add [[backup.targets]] to appliance.toml."
    if fresh.first_backup_pending:  # just restored: the old box's backups are not this box's yet
        r = fresh.restored
        return "warn", (f"Restored from {r['source']} on {r['target']} at {r['restored_at']:%Y-%m-%d %H:%M} UTC; "
                        f"the first backup is pending: start backup.run in the Operations panel.")
    if fresh.backup_id is None:
        return "crit", "There is no restorable backup yet."
    if not fresh.meets_rpo and not replication_ok:
        return "crit", (f"The newest restorable backup is {age_text(timedelta(seconds=fresh.age_seconds))} old, "
                        f"older than the RPO ({age_text(timedelta(seconds=fresh.rpo_seconds))}).")
    if views and not views[0].rule_321:
        return "warn", f"The newest backup does not meet the 3-2-1 rule: {views[0].rule_detail}."
    return "ok", "The newest backup is within the RPO and meets the 3-2-1 rule."


def _kit_row(current: Settings) -> tuple[str, str]:
    """Whether the recovery kit (backup key, targets, restore commands) of the current key and targets was exported."""
    try:
        from .kit import status
        kit = status(current)
    except Exception as e:  # noqa: BLE001 - the kit's state must not hide the backups
        log.warning("recovery kit state unavailable: %s", e)
        return "Recovery kit", "its state could not be read (see the server log)"
    if kit.current:
        return "Recovery kit", f"current: {kit.reason}; keep the printed sheet offline"
    return "Recovery kit", f"NOT current: {kit.reason}"


def _replication(current: Settings) -> dict | None:
    try:
        from .replication import facts  # here: an import failure is replication trouble too
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


register_panel("backups", "Backups", backups_panel, template_folder=TEMPLATES)
