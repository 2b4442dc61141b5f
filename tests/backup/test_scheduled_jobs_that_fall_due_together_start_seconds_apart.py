"""Background jobs never start in the same second (issue 17: order p99 went from 15 to 256 ms in
the seconds when backup, verify and replica verify started together). Schedules coincide (a backup
every minute and a verify every two; a verify and a replica verify on one cron; catch-ups after a
restart): the scheduler hands out start slots at least `BACKGROUND_START_SPACING_SECONDS` apart."""
from __future__ import annotations

import itertools
import threading
import time

from apscheduler.schedulers.background import BackgroundScheduler

from appliance import operations
from appliance import scheduler as box_scheduler
from appliance.scheduler import StartSpacing
from backup import jobs


def test_scheduled_operations_falling_due_in_one_second_start_at_least_the_spacing_apart(settings, db, monkeypatch):
    spacing = 1.0  # the box's is BACKGROUND_START_SPACING_SECONDS; shorter here to keep the test quick
    monkeypatch.setattr(box_scheduler, "background_starts", StartSpacing(spacing))
    starts: list[tuple[float, str]] = []
    monkeypatch.setattr(operations, "start_in_background",
                        lambda settings, name, params, **kw: starts.append((time.monotonic(), name)))
    scheduler = BackgroundScheduler(timezone="UTC")
    names = jobs.register(scheduler, settings)
    scheduler.start(paused=True)
    try:
        fired = [threading.Thread(target=scheduler.get_job(name).func) for name in names]
        for thread in fired:  # all due at the same instant, on the scheduler's thread pool
            thread.start()
        for thread in fired:
            thread.join(10)
    finally:
        scheduler.shutdown(wait=False)

    assert sorted(name for _, name in starts) == sorted(names) == ["backup.prune", "backup.run", "backup.verify"]
    times = sorted(t for t, _ in starts)
    # slots are `spacing` apart; each start then opens its database connection (a few ms, more on a
    # loaded machine), hence the margin
    assert all(later - earlier >= spacing - 0.25 for earlier, later in itertools.pairwise(times)), times


def test_the_box_spaces_background_starts_by_seconds_and_its_catch_ups_differ():
    assert box_scheduler.BACKGROUND_START_SPACING_SECONDS >= 5
    assert box_scheduler.background_starts.seconds == box_scheduler.BACKGROUND_START_SPACING_SECONDS
    delays = list(jobs.MISSED_RUN_DELAY.values())
    assert len(set(delays)) == len(delays)  # catch-ups after a restart fall due at different times


def test_a_lone_start_does_not_wait():
    spacing = StartSpacing(30)
    before = time.monotonic()
    spacing.wait_turn()
    assert time.monotonic() - before < 0.5
