"""Without `[failover] enabled` the pair's checks do not run (nor show on /ops, nor lead alerts) and
/metrics says the box is `single`: epoch 0, never fenced, the lease's seconds left NaN (no alert rule
fires on NaN); with failover enabled the three checks run."""
from __future__ import annotations

import math

from prometheus_client.parser import text_string_to_metric_families

from monitors import metrics
from monitors.checks import enabled_checks

PAIR_CHECKS = {"failover_lease", "failover_members", "failover_fenced"}


def test_no_failover_check_runs_on_a_single_box(settings):
    assert settings.failover.enabled is False
    assert PAIR_CHECKS.isdisjoint(check.name for check, _ in enabled_checks(settings))
    paired = settings.model_copy(update={"failover": settings.failover.model_copy(update={"enabled": True})})
    assert PAIR_CHECKS <= {check.name for check, _ in enabled_checks(paired)}


def test_a_single_box_exports_itself_single(db, settings):
    found = {(s.name, s.labels.get("role")): s.value
             for f in text_string_to_metric_families(metrics.render(settings).decode()) for s in f.samples
             if s.name.startswith("appliance_failover")}
    assert [role for (name, role), v in found.items() if name == "appliance_failover_role" and v == 1] == ["single"]
    assert found[("appliance_failover_epoch", None)] == 0 and found[("appliance_failover_fenced", None)] == 0
    assert math.isnan(found[("appliance_failover_lease_seconds_left", None)])
