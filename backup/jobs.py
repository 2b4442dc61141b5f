"""The backup package's scheduled jobs: `backup.run`, `backup.verify`, `backup.prune` (retention)
and, with replication, `replication.verify` on their cron schedules, each started as its registered
operation (recorded in the operation ledger, run in a child process at low CPU and I/O priority),
never two in the same second (appliance/scheduler.py `background_starts`), plus the Litestream
supervisor."""
from __future__ import annotations

import logging
from datetime import timedelta

from appliance.scheduler import schedule_operation

log = logging.getLogger(__name__)

# A run the schedule wanted while the box was off starts this long after the scheduler, so the box
# serves first; verify after the backup, so a new box verifies its first backup; retention after
# both. No two alike: catch-ups after a restart fall due apart (and start apart: background_starts).
MISSED_RUN_DELAY = {"backup.run": timedelta(minutes=1), "backup.verify": timedelta(minutes=5),
                    "replication.verify": timedelta(minutes=6), "backup.prune": timedelta(minutes=10)}


def register(scheduler, settings) -> list[str]:
    """Adds the scheduled operations; returns their job ids (the operation names).

    The scheduler lives in a web worker; a child process keeps a long backup's memory and CPU, and
    verify's temporary rebinding of models to a scratch database, away from the worker's requests.
    """
    jobs = [("backup.run", {}, settings.backup.schedule),
            ("backup.verify", {"sample": settings.backup.verify_sample}, settings.backup.verify_schedule),
            ("backup.prune", {}, settings.backup.prune_schedule)]
    if _replicating(settings):
        jobs.append(("replication.verify", {}, settings.backup.verify_schedule))
    for name, params, cron in jobs:
        schedule_operation(scheduler, settings, name, params, cron, MISSED_RUN_DELAY[name])
    _supervise_replication(scheduler, settings)
    return [name for name, _, _ in jobs]


def _replicating(settings) -> bool:
    return settings.backup.replication.enabled and settings.database.url.startswith("sqlite:")


def _supervise_replication(scheduler, settings) -> None:
    """The scheduler holder (one per box) also supervises Litestream, on its own thread, and stops it
    when the scheduler shuts down. If `appliance replication run` already supervises it, this one
    waits for its lock and takes over only if that process dies."""
    if not _replicating(settings):
        return
    from apscheduler.events import EVENT_SCHEDULER_SHUTDOWN

    from .replication import ReplicationError, Supervisor
    try:
        supervisor = Supervisor(settings).start()
    except ReplicationError as e:
        log.warning("continuous replication not started: %s", e.message)
        return
    scheduler.add_listener(lambda event: supervisor.stop(), EVENT_SCHEDULER_SHUTDOWN)
