"""Recovery checks read the backup package's facts and the recorded drills; while nothing is recorded
they say unknown, never ok."""
from __future__ import annotations

from datetime import timedelta

import pytest

from appliance.models import utcnow
from monitors import engine
from monitors.recovery_facts import record_drill

from .monitor_helpers import override

RECOVERY_CHECKS = ["backup_age", "recovery_point", "backup_321", "backup_verify", "replication_lag", "drill_age"]


def _provide(monkeypatch, facts):
    monkeypatch.setattr("backup.status.monitor_facts", lambda settings: facts)


@pytest.mark.parametrize("check", RECOVERY_CHECKS)
def test_recovery_checks_are_unknown_while_nothing_is_recorded(db, settings, monkeypatch, check):
    _provide(monkeypatch, None)  # the backup package reports nothing
    override(settings, check, confirm_count=1)
    assert engine.run_check(check, settings).state == "unknown"


def test_recovery_checks_judge_recorded_backups_against_the_rpo(db, settings, monkeypatch):
    now = utcnow()
    _provide(monkeypatch, {
        "targets": [
            {"name": "local", "last_success_at": now - timedelta(minutes=20), "last_verified_at": now - timedelta(hours=3),
             "last_verify_ok": True},
            {"name": "offsite", "last_success_at": now - timedelta(hours=30), "last_verified_at": now - timedelta(hours=5),
             "last_verify_ok": False},
        ],
        "rule_321": {"ok": False, "reason": "no offsite copy of the newest backup"},
        "replication": {"running": True, "lag_seconds": 45.0, "reason": ""},
    })
    for check in RECOVERY_CHECKS:
        override(settings, check, confirm_count=1)
    results = {c: engine.run_check(c, settings, now) for c in RECOVERY_CHECKS[:5]}

    assert results["backup_age"].state == "crit" and "offsite" in results["backup_age"].reason  # 30 h > 26 h
    assert results["recovery_point"].state == "ok"          # replication lag 45 s < RPO 60 s
    assert results["backup_321"].reason == "no offsite copy of the newest backup"
    assert results["backup_321"].state == "warn"
    assert results["backup_verify"].state == "crit"
    assert results["replication_lag"].state == "warn"       # 45 s ≥ RPO/2


def test_stopped_replication_leaves_the_newest_backup_as_the_recovery_point(db, settings, monkeypatch):
    now = utcnow()
    _provide(monkeypatch, {"targets": [{"name": "local", "last_success_at": now - timedelta(minutes=30)}],
                           "rule_321": None, "replication": {"running": False, "lag_seconds": None, "reason": "exited 1"}})
    override(settings, "recovery_point", confirm_count=1)
    override(settings, "replication_lag", confirm_count=1)

    point = engine.run_check("recovery_point", settings, now)
    assert point.state == "crit" and "1800 s of orders at risk" in point.reason   # 30 min ≥ 2 × RPO
    assert engine.run_check("replication_lag", settings, now).state == "crit"


def test_drill_age_reads_recorded_drills(db, settings):
    now = utcnow()
    record_drill("restore-on-new-box", succeeded=True, rto_seconds=300, at=now - timedelta(days=40))
    assert engine.run_check("drill_age", settings, now).state == "warn"  # 40 days > 35
    record_drill("restore-on-new-box", succeeded=True, rto_seconds=300, at=now - timedelta(days=1))
    assert engine.run_check("drill_age", settings, now + timedelta(minutes=1)).state == "ok"
    record_drill("restore-on-new-box", succeeded=True, rto_seconds=5000, at=now)
    result = engine.run_check("drill_age", settings, now + timedelta(minutes=2))
    assert result.state == "warn" and "over the RTO" in result.reason
