"""`backup verify` and `replication verify` each restore a copy into scratch space; started together
they made the orders wait (issue 17: p99 up to 130 ms in the minutes both started). The replica's
has its own schedule, by default a quarter hour after the backup's, and a box may set it."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone
from types import SimpleNamespace

from apscheduler.triggers.cron import CronTrigger

from appliance import config
from backup.jobs import scheduled_jobs
from tests.backup.helpers import s3_target, write_targets

NEVER_CONTACTED = SimpleNamespace(endpoint="http://127.0.0.1:9")  # only the schedule is read here


def _replicating_box(home, **replication):
    write_targets(home, [s3_target("offsite", NEVER_CONTACTED, "shop", home)],
                  {"replication": {"enabled": True, "target": "offsite", **replication}})
    return config.load(home)


def _fire_times(cron: str, days: int = 40) -> set[datetime]:
    trigger, at, times = CronTrigger.from_crontab(cron, timezone="UTC"), datetime(2026, 12, 30, tzinfo=timezone.utc), set()
    while (at := trigger.get_next_fire_time(None, at + timedelta(seconds=1))) < datetime(2027, 2, 8, tzinfo=timezone.utc):
        times.add(at)
    return times


def test_by_default_the_replica_verify_starts_a_quarter_hour_after_the_backup_verify(home):
    jobs = {name: cron for name, _, cron in scheduled_jobs(_replicating_box(home))}

    backup_verify, replica_verify = _fire_times(jobs["backup.verify"]), _fire_times(jobs["replication.verify"])
    assert backup_verify and replica_verify and not backup_verify & replica_verify
    assert {t + timedelta(minutes=15) for t in backup_verify} == replica_verify


def test_a_box_may_set_the_replica_verify_schedule_and_without_replication_there_is_none(home):
    jobs = {name: cron for name, _, cron in scheduled_jobs(_replicating_box(home, verify_schedule="5 1 * * 0"))}
    assert jobs["replication.verify"] == "5 1 * * 0"

    plain = _replicating_box(home, enabled=False)
    assert "replication.verify" not in {name for name, _, _ in scheduled_jobs(plain)}
