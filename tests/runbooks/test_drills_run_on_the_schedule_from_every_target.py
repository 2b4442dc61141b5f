"""Restore drills run on `[runbooks] drill_schedule` as the registered `runbooks.drill` operation: one
drill per target in turn, each recorded (the drill_age check reads it) and summed up in the ledger;
a box without targets, or with drills turned off, schedules none."""
from __future__ import annotations

from apscheduler.schedulers.background import BackgroundScheduler

from appliance import config, operations
from appliance.models import OperationRun
from monitors.models import DrillResult
from runbooks import jobs
from tests.backup.helpers import local_target, write_targets


def test_a_drill_operation_drills_every_target_in_turn(home, db, settings, tmp_path):
    write_targets(home, [local_target("disk", tmp_path / "disk"), local_target("usb", tmp_path / "usb")])
    live = config.load(home, environ={"APPLIANCE_DATABASE_URL": settings.database.url})
    operations.execute(live, "backup.run", actor=operations.SCHEDULER, source="schedule", show_progress=False)

    results = operations.execute(live, "runbooks.drill", actor=operations.SCHEDULER, source="schedule")

    assert [(r.target, r.succeeded) for r in results] == [("disk", True), ("usb", True)]
    assert DrillResult.select().where(DrillResult.succeeded).count() == 2
    run = OperationRun.get(OperationRun.operation == "runbooks.drill")
    assert run.outcome == "ok" and run.summary.startswith("disk: met") and "usb: met" in run.summary


def test_the_schedule_has_the_drill_job_only_when_there_is_something_to_drill(home, db, settings, tmp_path):
    scheduler = BackgroundScheduler(timezone="UTC")
    write_targets(home, [])
    assert jobs.register(scheduler, config.load(home)) == []
    write_targets(home, [local_target("disk", tmp_path / "disk")])
    assert jobs.register(scheduler, config.load(home)) == ["runbooks.drill"]
    (home / "appliance.toml").write_text((home / "appliance.toml").read_text() + "\n[runbooks]\ndrill_enabled = false\n")
    assert jobs.register(BackgroundScheduler(timezone="UTC"), config.load(home)) == []
