"""What the monitors' checks, /metrics and the /ops panel read about the pair: `control.status`,
shared for a moment so that one pass of the checks (or a scrape) asks etcd once, not once per reader.

The monitors import this module (monitors → failover), never the reverse.
"""
from __future__ import annotations

import time
from pathlib import Path

from appliance.config import Settings


MAX_AGE_SECONDS = 1.0
_cache: dict[str, tuple[float, dict]] = {}


def pair_status(settings: Settings, max_age: float = MAX_AGE_SECONDS) -> dict:
    """`failover status --json`'s answer, at most `max_age` seconds old (per home)."""
    key = str(settings.home)
    now = time.monotonic()
    hit = _cache.get(key)
    if hit is not None and now - hit[0] < max_age:
        return hit[1]
    # the etcd client is imported when the pair is looked at, not by every command loading the checks
    from .control import status
    found = status(settings)
    _cache[key] = (time.monotonic(), found)
    return found


def forget(settings: Settings) -> None:
    """The next look asks etcd again (after this box promoted or demoted itself)."""
    _cache.pop(str(settings.home), None)


def demoted(settings: Settings) -> bool:
    from .holder import DEMOTED_FILE  # the holder imports the etcd client: not at every command's start
    return (Path(settings.home) / DEMOTED_FILE).exists()


def meant_to_hold(settings: Settings) -> bool:
    """This box is the pair's intended primary: its role hint says so and no operator demoted it."""
    return settings.failover.role == "primary" and not demoted(settings)


def majority(members: int) -> int:
    return members // 2 + 1
