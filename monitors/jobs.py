"""The monitors' jobs on the box's single scheduler: each check at its own interval, the outbox
every 15 s, reminders every minute, pruning daily. `register` is called from the composition root."""
from __future__ import annotations

import random
from datetime import datetime, timedelta, timezone

from appliance.config import Settings
from appliance.scheduler import with_db

from . import engine, notify, webhooks
from .checks import enabled_checks

OUTBOX_SECONDS = 15


def register(scheduler, settings: Settings) -> list[str]:
    """Adds the jobs; returns their ids. Refuses (ConfigError) overrides for checks that do not exist."""
    checks = enabled_checks(settings)
    if not settings.monitors.enabled:
        return []
    ids = []
    for check, config in checks:
        job_id = f"monitors.check.{check.name}"
        scheduler.add_job(with_db(_runner(check.name, settings)), "interval", seconds=config.interval_seconds,
                          id=job_id, replace_existing=True, next_run_time=_soon(config.interval_seconds))
        ids.append(job_id)
    for job_id, job, seconds in (
        ("monitors.webhook_events", lambda: webhooks.enqueue_events(settings), OUTBOX_SECONDS),
        ("monitors.deliver", lambda: notify.deliver_due(settings), OUTBOX_SECONDS),
        ("monitors.reminders", lambda: engine.send_reminders(settings), 60),
        ("monitors.prune", lambda: engine.prune(settings), 86400),
        ("monitors.webhook_prune", lambda: webhooks.prune(settings), 86400),
    ):
        scheduler.add_job(with_db(job), "interval", seconds=seconds, id=job_id, replace_existing=True)
        ids.append(job_id)
    return ids


def _runner(name: str, settings: Settings):
    def run() -> None:
        engine.run_check(name, settings)
    run.__name__ = f"check_{name}"
    return run


def _soon(interval_seconds: int) -> datetime:
    # Spread the first runs over a few seconds so 25 checks do not all start on the same tick.
    delay = random.uniform(1, min(10, interval_seconds))
    return datetime.now(timezone.utc) + timedelta(seconds=delay)
