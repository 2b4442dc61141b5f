"""Small helpers shared by the monitors' tests."""
from __future__ import annotations

import json
from datetime import datetime

from monitors import engine
from monitors.checks import Result, catalog, config_for
from monitors.models import Notification


def feed(settings, check: str, states: list[str], start: datetime, step_seconds: int = 60, reason: str = "test"):
    """Records one result per state, `step_seconds` apart, as the scheduler would."""
    from datetime import timedelta
    config = config_for(catalog()[check], settings)
    now = start
    for state in states:
        engine.record(check, Result(state, None, f"{reason} {state}"), settings, config, now)
        now += timedelta(seconds=step_seconds)
    return now


def queued(check: str | None = None) -> list[dict]:
    query = Notification.select().order_by(Notification.id)
    if check:
        query = query.where(Notification.check == check)
    return [json.loads(n.payload) | {"channel": n.channel} for n in query]


def override(settings, check: str, **fields) -> None:
    """`[monitors.checks.<check>]` as a box's config would set it."""
    checks = {name: c.model_dump(exclude_none=True) for name, c in settings.monitors.checks.items()}
    checks[check] = checks.get(check, {}) | fields
    settings.monitors.checks = checks
