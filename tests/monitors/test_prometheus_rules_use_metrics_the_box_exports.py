"""deploy/prometheus/: every metric the alert rules use is one the box exports, and promtool (when
installed) accepts the config and the rules."""
from __future__ import annotations

import re
import subprocess
from pathlib import Path

from prometheus_client.parser import text_string_to_metric_families

from appliance.models import utcnow
from monitors import engine
from monitors.recovery_facts import record_drill
from tests.servers.required import tool_path
from web import create_app

DEPLOY = Path(__file__).resolve().parents[2] / "deploy" / "prometheus"


def test_every_metric_in_the_rules_is_exported(db, settings, monkeypatch):
    monkeypatch.setattr("backup.status.monitor_facts",
                        lambda s: {"targets": [{"name": "local", "last_success_at": utcnow()}],
                                   "replication": {"running": True, "lag_seconds": 0.5}})
    record_drill("restore-on-new-box", succeeded=True, rto_seconds=60)
    engine.run_check("db_probe", settings)
    client = create_app(settings, connect=False).test_client()
    client.get("/healthz")
    text = client.get("/metrics").get_data(as_text=True)
    exported = {s.name for f in text_string_to_metric_families(text) for s in f.samples}

    used = set(re.findall(r"\b(appliance_[a-z_]+)\b", (DEPLOY / "appliance-rules.yml").read_text()))

    assert used, "rules mention no appliance metric"
    assert used <= exported, f"rules use metrics the box does not export: {sorted(used - exported)}"


def test_promtool_accepts_config_and_rules():
    promtool = tool_path("promtool", "apt-get install prometheus (./dev test does)")
    for args in (["check", "config", "prometheus.yml"], ["check", "rules", "appliance-rules.yml"]):
        done = subprocess.run([promtool, *args], cwd=DEPLOY, capture_output=True, text=True)
        assert done.returncode == 0, done.stdout + done.stderr
