"""The backup package's scheduled jobs: `backup.run`, `backup.verify`, `backup.prune` (retention)
and, with replication, `replication.verify` on their cron schedules, each started as its registered
operation (recorded in the operation ledger, run in a child process at low CPU and I/O priority),
never two in the same second (appliance/scheduler.py `background_starts`), plus the Litestream
supervisor."""
from __future__ import annotations

import logging
from datetime import datetime, timedelta, timezone

import peewee
from peewee import fn

from appliance import clock, operations
from appliance.db import database
from appliance.errors import AppError, Conflict
from appliance.models import OperationRun
from appliance.scheduler import background_starts

log = logging.getLogger(__name__)

# A run the schedule wanted while the box was off starts this long after the scheduler, so the box
# serves first; verify after the backup, so a new box verifies its first backup; retention after
# both. No two alike: catch-ups after a restart fall due apart (and start apart: background_starts).
MISSED_RUN_DELAY = {"backup.run": timedelta(minutes=1), "backup.verify": timedelta(minutes=5),
                    "replication.verify": timedelta(minutes=6), "backup.prune": timedelta(minutes=10)}
# A scheduled run refused because its exclusive group is busy (a prune while a long backup runs, or
# the reverse) is tried again this much later, unless its schedule comes sooner: a daily prune that
# met a backup does not wait a day.
BUSY_RETRY = timedelta(minutes=5)


def register(scheduler, settings) -> list[str]:
    """Adds the scheduled operations; returns their job ids (the operation names).

    The scheduler lives in a web worker; a child process keeps a long backup's memory and CPU, and
    verify's temporary rebinding of models to a scratch database, away from the worker's requests.
    """
    from apscheduler.triggers.cron import CronTrigger
    jobs = [("backup.run", {}, settings.backup.schedule),
            ("backup.verify", {"sample": settings.backup.verify_sample}, settings.backup.verify_schedule),
            ("backup.prune", {}, settings.backup.prune_schedule)]
    if _replicating(settings):
        jobs.append(("replication.verify", {}, settings.backup.verify_schedule))
    for name, params, cron in jobs:
        trigger = CronTrigger.from_crontab(cron, timezone="UTC")
        scheduler.add_job(_starter(scheduler, settings, name, params), trigger, id=name, replace_existing=True,
                          **missed_run(trigger, name, MISSED_RUN_DELAY[name]))
    _supervise_replication(scheduler, settings)
    return [name for name, _, _ in jobs]


def missed_run(trigger, operation: str, delay: timedelta, now: datetime | None = None) -> dict:
    """`{"next_run_time": soon}` when the schedule fired since the last recorded run of `operation`
    began (the box was off, or never made one), else the trigger's own next time after `now`. Like
    anacron: a box switched off over its backup hour still gets that backup when it comes back."""
    now = now or clock.now()
    query = OperationRun.select(fn.MAX(OperationRun.started_at)).where(OperationRun.operation == operation)
    try:
        if database.is_closed():  # on the scheduler's thread; a caller's open connection stays open
            with database.connection_context():
                last = query.scalar()
        else:
            last = query.scalar()
    except peewee.DatabaseError:  # no ledger yet (or unreadable): the schedule alone
        return {"next_run_time": trigger.get_next_fire_time(None, now)}
    if last is not None and trigger.get_next_fire_time(None, last.replace(tzinfo=timezone.utc)) > now:
        # the schedule's own next time, read from the box's clock like the last run was
        return {"next_run_time": trigger.get_next_fire_time(None, now)}
    return {"next_run_time": now + delay}


def _starter(scheduler, settings, name: str, params: dict):
    def start() -> None:
        background_starts.wait_turn()  # never in the same second as another scheduled run
        try:
            with database.connection_context():
                operations.start_in_background(settings, name, params, actor=operations.SCHEDULER,
                                               source="schedule")
        except Conflict as busy:  # its exclusive group is busy: again in BUSY_RETRY
            retry_at = _retry_busy(scheduler, name, start)
            log.warning("scheduled %s not started: %s%s", name, busy.message,
                        f" (tried again at {retry_at:%H:%M:%S} UTC)" if retry_at else "")
        except AppError as refused:
            log.warning("scheduled %s not started: %s", name, refused.message)
    start.__name__ = name.replace(".", "_")
    return start


def _retry_busy(scheduler, name: str, start, now: datetime | None = None) -> datetime | None:
    """A one-off job `<name>.retry` BUSY_RETRY from now, unless the schedule itself comes first."""
    retry_at = (now or datetime.now(timezone.utc)) + BUSY_RETRY  # the scheduler's own (real) time
    job = scheduler.get_job(name)
    if job is None or (job.next_run_time is not None and job.next_run_time <= retry_at):
        return None
    scheduler.add_job(start, "date", run_date=retry_at, id=f"{name}.retry", replace_existing=True)
    return retry_at


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
