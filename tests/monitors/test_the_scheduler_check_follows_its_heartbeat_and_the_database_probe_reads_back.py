"""Scheduler liveness reads the heartbeat the scheduler writes (unknown while there is none); the
database probe writes, reads back and times it; SQLite quick_check runs on its own slower schedule."""
from __future__ import annotations

from datetime import timedelta

from appliance.models import KeyValue, utcnow
from appliance.scheduler import write_heartbeat
from monitors import engine
from monitors.checks import catalog, config_for

from .monitor_helpers import override


def test_scheduler_check_is_unknown_then_ok_then_crit_as_the_heartbeat_ages(db, settings):
    override(settings, "scheduler", confirm_count=1)
    now = utcnow()
    assert engine.run_check("scheduler", settings, now).state == "unknown"

    write_heartbeat()
    assert engine.run_check("scheduler", settings, now + timedelta(seconds=30)).state == "ok"
    assert engine.run_check("scheduler", settings, now + timedelta(minutes=5)).state == "warn"
    stale = engine.run_check("scheduler", settings, now + timedelta(minutes=15))
    assert stale.state == "crit" and "heartbeat" in stale.reason


def test_database_probe_writes_and_reads_back_with_its_latency(db, settings):
    override(settings, "db_probe", confirm_count=1)
    now = utcnow()
    state = engine.run_check("db_probe", settings, now)
    assert state.state == "ok"
    assert 0 < float(state.value) < 0.5
    assert KeyValue.get(KeyValue.key == "monitor_probe").value == now.isoformat()


def test_quick_check_runs_hourly_on_sqlite(db, settings):
    check = catalog()["db_integrity"]
    assert config_for(check, settings).interval_seconds == 3600
    assert engine.run_check("db_integrity", settings).state == "ok"
