"""Job bookkeeping: one row per run (duration, bytes, outcome), and one backup job at a time per box."""
from __future__ import annotations

import fcntl
import os
import time
from contextlib import contextmanager
from datetime import datetime, timedelta, timezone
from pathlib import Path

import peewee
from peewee import fn

from appliance import clock
from appliance.db import database
from appliance.models import utcnow

from .errors import BackupError
from .models import BackupJobRun


@contextmanager
def recorded(kind: str):
    """Yields the job row; an exception marks it failed (and propagates)."""
    job = BackupJobRun.create(kind=kind)
    start = time.monotonic()
    try:
        yield job
    except BaseException as e:
        job.outcome, job.detail = "failed", str(e)[:2000]
        raise
    finally:
        if job.outcome == "running":
            job.outcome = "ok"
        job.finished_at = utcnow()
        job.duration_seconds = time.monotonic() - start
        job.save()


@contextmanager
def exclusive(staging: Path):
    """A lock file in the staging folder: a second `backup run` or `prune` waits for nobody, it fails."""
    staging.mkdir(parents=True, exist_ok=True)
    fd = os.open(staging / ".backup.lock", os.O_CREAT | os.O_RDWR, 0o600)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise BackupError("Another backup job is running on this box; try again when it ends.") from None
        yield
    finally:
        os.close(fd)


def register(scheduler, settings) -> list[str]:
    """Scheduled `backup run`, `backup verify` and, with replication, `replication verify` (cron from
    config), each in a child process.

    The scheduler lives in a web worker; a child process keeps a long backup's memory and CPU, and
    verify's temporary rebinding of models to a scratch database, away from the worker's requests.
    """
    from apscheduler.triggers.cron import CronTrigger
    jobs = (
        ("backup.run", "run", ["backup", "run", "--quiet"], settings.backup.schedule),
        ("backup.verify", "verify", ["backup", "verify", "--quiet", "--sample", settings.backup.verify_sample],
         settings.backup.verify_schedule),
    )
    if settings.backup.replication.enabled and settings.database.url.startswith("sqlite:"):
        jobs += (("replication.verify", "replica-verify", ["replication", "verify", "--quiet"],
                  settings.backup.verify_schedule),)
    for job_id, kind, args, cron in jobs:
        trigger = CronTrigger.from_crontab(cron, timezone="UTC")
        scheduler.add_job(_child(settings.home, args), trigger, id=job_id, replace_existing=True,
                          **missed_run(trigger, kind, MISSED_RUN_DELAY[kind]))
    _supervise_replication(scheduler, settings)
    return [job_id for job_id, _, _, _ in jobs]


# A run the schedule wanted while the box was off starts this long after the scheduler, so the box
# serves first; verify after the backup, so a new box verifies its first backup.
MISSED_RUN_DELAY = {"run": timedelta(minutes=1), "verify": timedelta(minutes=5),
                    "replica-verify": timedelta(minutes=5)}


def missed_run(trigger, kind: str, delay: timedelta, now: datetime | None = None) -> dict:
    """`{"next_run_time": soon}` when the schedule fired since the last recorded `kind` job began
    (the box was off, or never made one), else the trigger's own next time after `now`. Like anacron: a
    box switched off over its backup hour still gets that backup when it comes back."""
    now = now or clock.now()
    query = BackupJobRun.select(fn.MAX(BackupJobRun.started_at)).where(BackupJobRun.kind == kind)
    try:
        if database.is_closed():  # on the scheduler's thread; a caller's open connection stays open
            with database.connection_context():
                last = query.scalar()
        else:
            last = query.scalar()
    except peewee.DatabaseError:  # no catalog yet (or unreadable): the schedule alone
        return {"next_run_time": trigger.get_next_fire_time(None, now)}
    if last is not None and trigger.get_next_fire_time(None, last.replace(tzinfo=timezone.utc)) > now:
        # the schedule's own next time, read from the box's clock like the last run was
        return {"next_run_time": trigger.get_next_fire_time(None, now)}
    return {"next_run_time": now + delay}


def _supervise_replication(scheduler, settings) -> None:
    """The scheduler holder (one per box) also supervises Litestream, on its own thread, and stops it
    when the scheduler shuts down. If `appliance replication run` already supervises it, this one
    waits for its lock and takes over only if that process dies."""
    if not settings.backup.replication.enabled or not settings.database.url.startswith("sqlite:"):
        return
    import logging

    from apscheduler.events import EVENT_SCHEDULER_SHUTDOWN

    from .replication import ReplicationError, Supervisor
    try:
        supervisor = Supervisor(settings).start()
    except ReplicationError as e:
        logging.getLogger(__name__).warning("continuous replication not started: %s", e.message)
        return
    scheduler.add_listener(lambda event: supervisor.stop(), EVENT_SCHEDULER_SHUTDOWN)


def _child(home: Path, args: list[str]):
    import logging
    import subprocess
    import sys

    def run() -> None:
        command = [sys.executable, "-c", "from cli import main; main()", "--home", str(home), *args]
        result = subprocess.run(command, capture_output=True, text=True)
        if result.returncode != 0:
            last = (result.stderr.strip().splitlines() or ["no output"])[-1]
            logging.getLogger(__name__).warning("appliance %s failed: %s", " ".join(args[:2]), last)
    run.__name__ = "_".join(args[:2])
    return run
