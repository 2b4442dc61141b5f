"""/metrics is Prometheus text that prometheus-client's own parser reads, with the DESIGN §6 names:
check states, host gauges, orders by channel (from the database) and the HTTP latency histogram."""
from __future__ import annotations

from datetime import timedelta

from prometheus_client.parser import text_string_to_metric_families

from appliance import inventory, orders
from appliance.models import utcnow
from monitors import engine
from monitors.recovery_facts import record_drill
from web import create_app

from .monitor_helpers import override


def _scrape(client) -> dict:
    response = client.get("/metrics")
    assert response.status_code == 200
    assert response.content_type.startswith("text/plain")
    return {f.name: f for f in text_string_to_metric_families(response.get_data(as_text=True))}


def _samples(family, name=None):
    return {tuple(sorted(s.labels.items())): s.value for s in family.samples if name is None or s.name == name}


def test_metrics_parse_and_carry_the_design_names(db, settings):
    inventory.create_product({"sku": "TEA", "name": "Tea", "price_cents": 350}, "test")
    inventory.receive("TEA", 10, "test")
    for channel in ("store", "store", "phone"):
        orders.create_order(settings, channel=channel, lines=[orders.LineRequest("TEA", 1)], actor="test")
    override(settings, "db_probe", confirm_count=1)
    engine.run_check("db_probe", settings)
    client = create_app(settings, connect=False).test_client()
    healthz = (("method", "GET"), ("route", "/healthz"), ("status", "200"))
    # The histogram lives for the whole process: other tests' requests are counted too.
    before = _samples(_scrape(client)["appliance_http_request_duration_seconds"],
                      "appliance_http_request_duration_seconds_count").get(healthz, 0)
    client.get("/healthz")
    client.get("/readyz")

    families = _scrape(client)

    assert _samples(families["appliance_check_status"])[(("check", "db_probe"),)] == 0
    created = _samples(families["appliance_orders_created"], "appliance_orders_created_total")
    assert created[(("channel", "store"),)] == 2 and created[(("channel", "phone"),)] == 1
    assert families["appliance_orders_created"].type == "counter"
    http = families["appliance_http_request_duration_seconds"]
    assert http.type == "histogram"
    counts = _samples(http, "appliance_http_request_duration_seconds_count")
    assert counts[healthz] - before == 1
    for host_gauge in ("appliance_host_cpu_usage_ratio", "appliance_host_memory_used_ratio",
                       "appliance_host_load_average", "appliance_host_disk_used_ratio", "appliance_host_swap_used_ratio"):
        assert host_gauge in families
    assert _samples(families["appliance_host_disk_used_ratio"])  # at least one mount


def test_backup_replication_and_drill_figures_appear_when_recorded(db, settings, monkeypatch):
    now = utcnow()
    # What the backup package reports (see monitors/recovery_facts.py), as if these were recorded.
    monkeypatch.setattr("backup.status.monitor_facts", lambda settings: {
        "targets": [{"name": "local", "last_success_at": now - timedelta(minutes=5),
                     "last_duration_seconds": 2.5, "last_size_bytes": 123456}],
        "rule_321": {"ok": False, "reason": "1 copy, 1 medium, 0 offsite"},
        "replication": {"running": True, "lag_seconds": 0.8, "reason": ""},
    })
    record_drill("restore-on-new-box", succeeded=True, rto_seconds=420, rpo_seconds=1.2)

    families = _scrape(create_app(settings, connect=False).test_client())

    assert _samples(families["appliance_backup_size_bytes"]) == {(("target", "local"),): 123456}
    assert _samples(families["appliance_backup_duration_seconds"]) == {(("target", "local"),): 2.5}
    assert (("target", "local"),) in _samples(families["appliance_backup_last_success_timestamp_seconds"])
    assert _samples(families["appliance_replication_lag_seconds"]) == {(): 0.8}
    assert _samples(families["appliance_drill_rto_seconds"]) == {(("runbook", "restore-on-new-box"),): 420}
    assert _samples(families["appliance_drill_rpo_seconds"]) == {(("runbook", "restore-on-new-box"),): 1.2}
