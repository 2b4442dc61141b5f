"""Web worker liveness: each worker process leaves a pid file under `<home>/run/web-workers/`, named
by its pid; the check counts the ones whose process still runs (a pid reused by another program does
not count: appliance/processes.py)."""
from __future__ import annotations

import os
from pathlib import Path

from appliance.config import Settings
from appliance.processes import PidFile


def workers_dir(settings: Settings) -> Path:
    return settings.path("run/web-workers")


def announce_web_worker(settings: Settings) -> None:
    """Called in every web worker process (also after a fork)."""
    PidFile(workers_dir(settings) / str(os.getpid())).record()


def live_web_workers(settings: Settings) -> list[int] | None:
    """Pids of live workers; None when no worker ever started here. Stale files are removed."""
    folder = workers_dir(settings)
    if not folder.is_dir():
        return None
    alive = []
    for entry in folder.iterdir():
        if entry.name.startswith("."):
            continue  # a file being written (PidFile writes a temporary file, then renames it)
        pid = PidFile(entry).running()
        if pid is not None:
            alive.append(pid)
        else:
            entry.unlink(missing_ok=True)
    return sorted(alive)
