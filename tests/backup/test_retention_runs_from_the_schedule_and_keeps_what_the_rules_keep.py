"""Retention runs on the schedule (issue 17): the scheduler starts `backup.prune` daily, an hour
after the verify, as the registered operation (in the ledger, in the backup lock's group, in a
child process), with the same missed-run catch-up as the backup and the verify. What it keeps is
what the rules say: the newest ones asked for, and never the newest verified backup."""
from __future__ import annotations

import fcntl
import os
from datetime import datetime, timedelta, timezone

from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.triggers.cron import CronTrigger

from appliance import clock, operations
from appliance import scheduler as box_scheduler
from appliance.models import OperationRun
from appliance.scheduler import StartSpacing
from backup import jobs
from backup.run import run_backup
from backup.targets import backups_on, open_targets
from backup.verify import verify
from tests.servers.waiting import wait_for

from .helpers import local_target

ONLY_ONE = {"keep_last": 1, "keep_daily": 0, "keep_weekly": 0, "keep_monthly": 0}


def _scheduler(settings) -> BackgroundScheduler:
    scheduler = BackgroundScheduler(timezone="UTC")
    jobs.register(scheduler, settings)
    scheduler.start(paused=True)
    return scheduler


def test_the_scheduled_prune_is_recorded_and_keeps_the_newest_and_the_last_verified(shop, configure, tmp_path,
                                                                                  monkeypatch):
    monkeypatch.setattr(box_scheduler, "background_starts", StartSpacing(0))
    settings = configure(local_target("disk", tmp_path / "disk", retention=ONLY_ONE))
    verified = run_backup(settings, show_progress=False).backup_id
    assert all(o.ok for o in verify(settings, show_progress=False))
    run_backup(settings, show_progress=False)
    newest = run_backup(settings, show_progress=False).backup_id
    scheduler = _scheduler(settings)
    try:
        job = scheduler.get_job("backup.prune")
        job.func()  # what the scheduler calls at the prune's time
    finally:
        scheduler.shutdown(wait=False)

    run = wait_for(lambda: OperationRun.get_or_none(OperationRun.operation == "backup.prune",
                                                    OperationRun.outcome.not_in(("queued", "running"))),
                   timeout=60, what="the scheduled prune to finish")
    assert run.outcome == "ok", (run.summary, operations.log_tail(settings, run.id))
    assert (run.actor, run.source, run.summary) == ("scheduler", "schedule", "deleted 1, locked 0, failed 0")
    assert run.pid != os.getpid()  # in a child process, like every scheduled run
    assert backups_on(open_targets(settings)[0].list())[0] == [verified, newest]


def test_prune_is_scheduled_daily_after_the_verify_and_caught_up_after_the_backup_and_verify(settings, db):
    started = clock.now()
    scheduler = _scheduler(settings)
    try:
        prune = scheduler.get_job("backup.prune")
        verify_at = scheduler.get_job("backup.verify").next_run_time
        backup_at = scheduler.get_job("backup.run").next_run_time
    finally:
        scheduler.shutdown(wait=False)

    assert str(prune.trigger) == str(CronTrigger.from_crontab(settings.backup.prune_schedule, timezone="UTC"))
    assert settings.backup.prune_schedule == "30 4 * * *"  # daily, an hour after the 03:30 verify
    # a box that never pruned prunes soon after it starts, after the catch-up backup and verify
    assert backup_at < verify_at < prune.next_run_time
    assert abs(prune.next_run_time - (started + jobs.MISSED_RUN_DELAY["backup.prune"])) < timedelta(seconds=5)


def test_a_prune_pruned_since_its_time_keeps_the_schedule(settings, db):
    OperationRun.create(operation="backup.prune", actor="scheduler", actor_role="admin", source="schedule",
                        started_at=clock.utcnow() - timedelta(minutes=1), outcome="ok")
    started = clock.now()
    scheduler = _scheduler(settings)
    try:
        prune_at = scheduler.get_job("backup.prune").next_run_time
    finally:
        scheduler.shutdown(wait=False)
    expected = CronTrigger.from_crontab(settings.backup.prune_schedule, timezone="UTC").get_next_fire_time(None, started)
    assert prune_at == expected


def test_a_scheduled_prune_that_meets_a_running_backup_is_tried_again_minutes_later(settings, db, monkeypatch):
    monkeypatch.setattr(box_scheduler, "background_starts", StartSpacing(0))
    lock = settings.home / "run" / "operations" / "backup.lock"  # what a running backup.run holds
    lock.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(lock, os.O_CREAT | os.O_RDWR, 0o600)
    scheduler = _scheduler(settings)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        before = datetime.now(timezone.utc)
        scheduler.get_job("backup.prune").func()
        retry = scheduler.get_job("backup.prune.retry")
    finally:
        os.close(fd)
        scheduler.shutdown(wait=False)

    assert retry is not None
    assert before + box_scheduler.BUSY_RETRY <= retry.next_run_time <= before + box_scheduler.BUSY_RETRY + timedelta(seconds=5)
    assert not OperationRun.select().where(OperationRun.operation == "backup.prune").exists()
