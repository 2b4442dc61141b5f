"""The `failover_standby_lag` check and `appliance_failover_standby_lag_seconds`: a standby whose
follower records a lag is graded against 5 s / 60 s; a standby that nothing follows (no follower, or
one whose last pass is old) is crit, since a promotion would start from an old copy; a box that may
write follows nobody. Read from what `failover follow` records (run/standby.json)."""
from __future__ import annotations

import json
from dataclasses import asdict
from datetime import datetime, timezone

from appliance import fencing
from failover.standby import FACTS_FILE, StandbyFacts
from monitors.checks import catalog, config_for, CheckContext

NOW = datetime(2026, 12, 2, 9, 0, 0)


def _settings(settings):
    paired = settings.failover.model_copy(update={"enabled": True})
    replication = settings.backup.replication.model_copy(update={"target": "nas"})
    backup = settings.backup.model_copy(update={"replication": replication})
    return settings.model_copy(update={"failover": paired, "backup": backup})


def _follower_said(settings, lag, at_seconds_ago=1.0, following=True, error=None):
    at = NOW.replace(tzinfo=timezone.utc).timestamp() - at_seconds_ago
    facts = StandbyFacts(following, 40 if lag is not None else None, 42, lag, at, at, error)
    path = settings.path(FACTS_FILE)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(asdict(facts)))


def _run(settings):
    check = catalog()["failover_standby_lag"]
    assert check.applies(settings)
    return check.run(CheckContext(settings, config_for(check, settings), NOW))


def _standby(home):
    fencing.write_permit(home, fencing.Permit(False, 0.0, fencing.boot_id(), 3, "box-b", "box-a holds the lease"))


def test_the_lag_is_graded(settings, home):
    paired = _settings(settings)
    _standby(home)
    for lag, state in ((0.0, "ok"), (7.5, "warn"), (90.0, "crit")):
        _follower_said(paired, lag)
        result = _run(paired)
        assert (result.state, result.value) == (state, lag)
    assert "transaction 40 of 42, 90.0 s behind" in result.reason


def test_a_standby_that_nothing_follows_is_crit(settings, home):
    paired = _settings(settings)
    _standby(home)
    assert _run(paired).state == "crit"  # never followed
    _follower_said(paired, 0.0, at_seconds_ago=3600)  # a follower that died an hour ago
    result = _run(paired)
    assert result.state == "crit" and "follows no primary" in result.reason
    _follower_said(paired, 0.0, following=False)  # stopped
    assert _run(paired).state == "crit"


def test_a_box_that_may_write_follows_nobody(settings, home):
    paired = _settings(settings)
    fencing.write_permit(home, fencing.Permit(True, fencing.boot_clock() + 60, fencing.boot_id(), 3, "box-a", "holds"))
    assert _run(paired).state == "ok"


def test_a_single_box_has_no_such_check(settings):
    assert not catalog()["failover_standby_lag"].applies(settings)


def test_metrics_export_the_standby_lag(db, settings, home):
    import math

    from prometheus_client.parser import text_string_to_metric_families

    from monitors import metrics
    paired = _settings(settings)
    _standby(home)
    _follower_said(paired, 7.5)

    def lag() -> float:
        return next(s.value for f in text_string_to_metric_families(metrics.render(paired).decode())
                    for s in f.samples if s.name == "appliance_failover_standby_lag_seconds")
    assert lag() == 7.5
    fencing.write_permit(home, fencing.Permit(True, fencing.boot_clock() + 60, fencing.boot_id(), 3, "box-a", "holds"))
    assert math.isnan(lag())  # a box that writes is nobody's standby
