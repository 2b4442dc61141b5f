"""A backup (or verify) the schedule wanted while the box was off runs shortly after the scheduler
starts, like anacron: a box switched off over its backup hour, or a new box, does not wait for the
next hour. One the schedule has not wanted since the last run keeps the schedule's own time."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.triggers.cron import CronTrigger

from appliance import clock
from appliance.scheduler import missed_run
from backup.jobs import MISSED_RUN_DELAY, register
from appliance.models import OperationRun

pytestmark = pytest.mark.calendar

HOURLY = CronTrigger.from_crontab("0 * * * *", timezone="UTC")
NOW = datetime(2026, 11, 22, 15, 20, tzinfo=timezone.utc)


def _ran_at(operation: str, when: datetime) -> None:
    OperationRun.create(operation=operation, actor="scheduler", actor_role="admin", source="schedule",
                        started_at=when.replace(tzinfo=None), outcome="ok")


def test_a_box_that_never_made_a_backup_makes_one_a_minute_after_start(db):
    assert missed_run(HOURLY, "backup.run", timedelta(minutes=1), now=NOW) == {"next_run_time": NOW + timedelta(minutes=1)}


def test_a_box_that_was_off_over_its_backup_hour_makes_that_backup_soon(db):
    _ran_at("backup.run", NOW - timedelta(hours=1, minutes=30))  # 13:50; the 14:00 and 15:00 runs were missed

    assert missed_run(HOURLY, "backup.run", timedelta(minutes=1), now=NOW) == {"next_run_time": NOW + timedelta(minutes=1)}


def test_a_backup_made_since_the_last_scheduled_time_keeps_the_schedule(db):
    _ran_at("backup.run", NOW - timedelta(minutes=19))  # 15:01, after the 15:00 time
    _ran_at("backup.verify", NOW - timedelta(days=3))   # another kind does not count

    assert missed_run(HOURLY, "backup.run", timedelta(minutes=1), now=NOW) == {"next_run_time": NOW.replace(hour=16, minute=0)}


def test_the_scheduler_gets_the_missed_backup_soon_and_the_verify_after_it(settings, db):
    _ran_at("backup.verify", clock.now() - timedelta(minutes=1))
    scheduler = BackgroundScheduler(timezone="UTC")
    started = clock.now()
    register(scheduler, settings)
    scheduler.start(paused=True)
    try:
        backup = scheduler.get_job("backup.run").next_run_time
        verify = scheduler.get_job("backup.verify").next_run_time
    finally:
        scheduler.shutdown(wait=False)

    assert started + MISSED_RUN_DELAY["backup.run"] - timedelta(seconds=5) <= backup <= started + MISSED_RUN_DELAY["backup.run"] + timedelta(seconds=5)
    # verify ran a minute ago, after its 03:30 time: it keeps its schedule
    assert verify == CronTrigger.from_crontab(settings.backup.verify_schedule, timezone="UTC").get_next_fire_time(None, started)
