"""On a pair only the box that may write runs the scheduled backup jobs (backup/jobs.py): a standby's
database is not the shop's, and its backups would become the newest on the targets the two boxes
share. Each start asks the box's write permit: refused, the job is skipped and says why; granted
(or a single box, no permit), it starts as before."""
from __future__ import annotations

import logging

from apscheduler.schedulers.background import BackgroundScheduler

from appliance import fencing
from appliance import scheduler as box_scheduler
from appliance.models import OperationRun
from appliance.scheduler import StartSpacing
from backup import jobs
from tests.servers.waiting import wait_for


def test_a_box_that_may_not_write_skips_them_and_starts_them_once_it_may(settings, db, monkeypatch, caplog):
    monkeypatch.setattr(box_scheduler, "background_starts", StartSpacing(0))
    scheduler = BackgroundScheduler(timezone="UTC")
    registered = jobs.register(scheduler, settings)
    scheduler.start(paused=True)
    try:
        fencing.write_permit(settings.home, fencing.Permit(False, 0.0, fencing.boot_id(), 2, "box-b",
                                                           "box-a holds the lease (epoch 2)"))
        with caplog.at_level(logging.INFO, logger="appliance.scheduler"):
            for name in registered:
                scheduler.get_job(name).func()  # what the scheduler calls at each job's time
        assert OperationRun.select().count() == 0
        assert "scheduled backup.run skipped: this box may not write (box-a holds the lease (epoch 2))" in caplog.text
        assert sum("skipped" in r.message for r in caplog.records) == len(registered) >= 3

        fencing.write_permit(settings.home, fencing.Permit(True, fencing.boot_clock() + 300, fencing.boot_id(), 3,
                                                           "box-b", "holds the lease (epoch 3)"))
        scheduler.get_job("backup.run").func()
        run = wait_for(lambda: OperationRun.get_or_none(OperationRun.operation == "backup.run",
                                                        OperationRun.outcome.not_in(("queued", "running"))),
                       timeout=60, what="the scheduled backup to run on the box that may write")
        assert (run.actor, run.source) == ("scheduler", "schedule")
    finally:
        scheduler.shutdown(wait=False)
        fencing.permit_path(settings.home).unlink(missing_ok=True)
