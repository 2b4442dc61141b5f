"""The monitors add their jobs to the box's one scheduler: a job per enabled check at its interval,
plus the outbox, reminders and pruning. Overrides for checks that do not exist stop start-up."""
from __future__ import annotations

import pytest
from apscheduler.schedulers.background import BackgroundScheduler

from appliance.config import ConfigError
from monitors import jobs

from .monitor_helpers import override


def test_register_adds_one_job_per_enabled_check_and_the_outbox(settings):
    override(settings, "disk", interval_seconds=120)
    override(settings, "swap", enabled=False)
    scheduler = BackgroundScheduler(timezone="UTC")

    ids = jobs.register(scheduler, settings)

    assert {"monitors.check.disk", "monitors.check.readyz", "monitors.deliver", "monitors.reminders"} <= set(ids)
    assert "monitors.check.swap" not in ids
    assert "monitors.check.tls_expiry" not in ids  # no HTTPS configured
    assert scheduler.get_job("monitors.check.disk").trigger.interval.total_seconds() == 120


def test_override_for_a_check_that_does_not_exist_is_refused(settings):
    override(settings, "disk_space", warn=80)
    with pytest.raises(ConfigError, match="monitors.checks.disk_space"):
        jobs.register(BackgroundScheduler(timezone="UTC"), settings)
