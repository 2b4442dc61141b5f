"""The disk fill forecast draws a line through recorded usage samples; the other host checks read
real figures from psutil."""
from __future__ import annotations

from datetime import timedelta

import psutil

from appliance.models import utcnow
from monitors import engine
from monitors.checks.host import watched_mounts
from monitors.models import Sample

from .monitor_helpers import override


def test_forecast_is_unknown_until_an_hour_of_samples_then_counts_days_to_full(db, settings):
    now = utcnow()
    assert engine.run_check("disk_forecast", settings, now).state == "unknown"

    mount = watched_mounts(settings)[0]
    usage = psutil.disk_usage(mount)
    Sample.delete().execute()
    # Growing by a tenth of the free space per day: about ten days left, under the 14-day warning.
    per_hour = usage.free / 10 / 24
    for hours in range(6, 0, -1):
        Sample.create(series=f"disk_used_bytes:{mount}", at=now - timedelta(hours=hours), value=usage.used - hours * per_hour)
    for other in watched_mounts(settings)[1:]:
        Sample.delete().where(Sample.series == f"disk_used_bytes:{other}").execute()

    state = engine.run_check("disk_forecast", settings, now)
    assert state.state == "warn"
    assert 9 < float(state.value) < 11


def test_host_checks_read_real_figures(db, settings):
    for check in ("cpu", "memory", "swap", "load", "inodes", "clock"):
        override(settings, check, confirm_count=1)
        state = engine.run_check(check, settings)
        assert state.state in ("ok", "warn", "crit"), (check, state.reason)
        assert state.reason
