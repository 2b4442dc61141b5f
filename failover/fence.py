"""Failover's gate in the core's write-gate registry (appliance/fencing.py), registered on import.

The lease holder grants writes through the core's write permit; this gate closes the one gap left:
a box whose config enables failover but whose lease holder has never run has no permit file, and
"no permit" means "a single box, writes allowed". This gate refuses instead, and writes a refusing
permit so that every other process of the box (the order writer loads only the core) refuses too.
"""
from __future__ import annotations

import os
import tomllib
from pathlib import Path

from appliance import fencing
from appliance.config import CONFIG_FILE

NOT_STARTED = "failover is enabled but its lease holder (appliance failover run) has not run on this box"
_cache: dict[Path, tuple[int, bool]] = {}


def _enabled(home: Path) -> bool:
    path = home / CONFIG_FILE
    try:
        mtime = os.stat(path).st_mtime_ns
    except OSError:
        return False
    cached = _cache.get(path)
    if cached and cached[0] == mtime:
        return cached[1]
    try:
        section = tomllib.loads(path.read_text()).get("failover", {})
        # a Patroni pair needs no permit: PostgreSQL itself refuses writes on the standby
        enabled = bool(section.get("enabled", False)) and section.get("engine", "lease") == "lease"
    except (OSError, ValueError):
        enabled = False  # the config loader refuses a broken file with its own sentence
    _cache[path] = (mtime, enabled)
    return enabled


def require_permit(home: Path) -> str | None:
    """None when failover is off or a permit exists (the core judges it); else the refusal."""
    return None if fencing.read_permit(home) is not None else _refuse_without_permit(home)


def _refuse_without_permit(home: Path) -> str | None:
    if not _enabled(home):
        return None
    fencing.write_permit(home, fencing.Permit(False, 0.0, fencing.boot_id(), reason=NOT_STARTED))
    return NOT_STARTED


def _gate(permit: fencing.Permit | None) -> str | None:
    if permit is not None:
        return None  # the core has judged it
    home = fencing.watched_home()
    return _refuse_without_permit(home) if home is not None else None


fencing.register("failover", _gate)
