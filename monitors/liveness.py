"""Web worker liveness: each worker process leaves a pid file under `<home>/run/web-workers/`;
the check counts the ones whose process still runs (a pid reused by another program does not count)."""
from __future__ import annotations

import os
from pathlib import Path

import psutil

from appliance.config import Settings


def workers_dir(settings: Settings) -> Path:
    return settings.path("run/web-workers")


def announce_web_worker(settings: Settings) -> None:
    """Called in every web worker process (also after a fork)."""
    folder = workers_dir(settings)
    folder.mkdir(parents=True, exist_ok=True)
    pid = os.getpid()
    (folder / str(pid)).write_text(str(psutil.Process(pid).create_time()))


def live_web_workers(settings: Settings) -> list[int] | None:
    """Pids of live workers; None when no worker ever started here. Stale files are removed."""
    folder = workers_dir(settings)
    if not folder.is_dir():
        return None
    alive = []
    for entry in folder.iterdir():
        if _is_alive(entry):
            alive.append(int(entry.name))
        else:
            entry.unlink(missing_ok=True)
    return sorted(alive)


def _is_alive(entry: Path) -> bool:
    try:
        started = float(entry.read_text())
        return abs(psutil.Process(int(entry.name)).create_time() - started) < 1.0
    except (ValueError, OSError, psutil.Error):
        return False
