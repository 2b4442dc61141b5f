"""/metrics of a pair's boxes (real etcd, real lease holders): the primary exports role primary, its
epoch, not fenced and the lease's seconds left; the standby exports role standby and fenced."""
from __future__ import annotations

import pytest
from prometheus_client.parser import text_string_to_metric_families

from monitors import metrics
from tests.failover.pair import TTL
from tests.failover.served import box_settings, pair, settings  # noqa: F401
from tests.servers.etcd import etcd_cluster  # noqa: F401
from web import create_app

pytestmark = pytest.mark.slow


def samples(text: str) -> dict[tuple, float]:
    return {(s.name, tuple(sorted(s.labels.items()))): s.value
            for f in text_string_to_metric_families(text) for s in f.samples if s.name.startswith("appliance_failover")}


def role_of(found: dict) -> list[str]:
    return [dict(labels)["role"] for (name, labels), v in found.items() if name == "appliance_failover_role" and v == 1]


def test_the_primary_and_the_standby_export_their_part(db, settings, pair):  # noqa: F811
    a, b = pair
    text = create_app(settings, connect=False).test_client().get("/metrics").get_data(as_text=True)
    found = samples(text)
    assert role_of(found) == ["primary"]
    assert found[("appliance_failover_epoch", ())] == a.permit().epoch >= 1
    assert found[("appliance_failover_fenced", ())] == 0
    assert 1 <= found[("appliance_failover_lease_seconds_left", ())] <= TTL

    standby = samples(metrics.render(box_settings(b)).decode())
    assert role_of(standby) == ["standby"]
    assert standby[("appliance_failover_fenced", ())] == 1
    assert standby[("appliance_failover_epoch", ())] == a.permit().epoch

