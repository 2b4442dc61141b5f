"""Alerts link each check to its runbook: the box's own alerts to its /ops/runbooks page (configured
or derived from the host name and port) and to the copy beside the backups for when the box is
gone; the central Prometheus rules to the page on the box that raised the alert (promtool runs the
rules on sample series)."""
from __future__ import annotations

import socket
import subprocess
from datetime import datetime
from email import message_from_bytes
from pathlib import Path

import yaml

from appliance import accounts, config
from monitors import notify
from monitors.engine import OFFLINE_RUNBOOK_PATH
from runbooks.export import put_on_targets
from runbooks.loader import load_library
from tests.backup.helpers import local_target, write_targets
from tests.servers.required import tool_path
from tests.web.web_helpers import sign_in
from web import create_app

from .monitor_helpers import feed

START = datetime(2026, 3, 2, 9, 0)
RULES = Path(__file__).resolve().parents[2] / "deploy" / "prometheus" / "appliance-rules.yml"


def test_without_a_base_url_the_alert_links_this_boxs_own_runbook_page(db, settings, receiver):
    settings.monitors.webhook_urls = [receiver.url]
    settings.server.port = 8123
    feed(settings, "db_probe", ["ok"] * 3 + ["crit"] * 3, START, reason="database probe failed")

    notify.deliver_due(settings, START.replace(hour=10))

    (alert,) = receiver.received
    assert alert["runbook_link"] == f"http://{socket.getfqdn()}:8123/ops/runbooks/database-down"
    admin = accounts.create_user("ada", "", "admin", "test", password_hash="not-checked-here")
    page = sign_in(create_app(settings, connect=False).test_client(), admin).get("/ops/runbooks/database-down")
    assert page.status_code == 200 and "database-down" in page.get_data(as_text=True)


def test_the_offline_copy_an_alert_names_is_where_the_export_puts_it(home, db, settings, tmp_path, receiver):
    write_targets(home, [local_target("disk", tmp_path / "disk")])
    current = config.load(home, environ={"APPLIANCE_DATABASE_URL": settings.database.url})
    current.monitors.webhook_urls = [receiver.url]
    feed(current, "backup_age", ["ok"] * 3 + ["crit"] * 3, START, reason="no backup for 30 h")
    notify.deliver_due(current, START.replace(hour=10))

    assert put_on_targets(current) == {}

    (alert,) = receiver.received
    assert alert["runbook_offline"] == OFFLINE_RUNBOOK_PATH.format(runbook="backup-failing")
    assert (tmp_path / "disk" / alert["runbook_offline"]).is_file()


def test_the_email_gives_the_page_the_command_and_the_offline_copy(db, settings, smtp_server, tmp_path):
    settings.monitors.runbook_base_url = "https://shop-1.example/ops/runbooks"
    smtp = settings.monitors.smtp
    smtp.host, smtp.port, smtp.starttls, smtp.ca_file = "127.0.0.1", smtp_server.port, True, str(smtp_server.cert)
    smtp.from_address, smtp.to, smtp.timeout_seconds = "box@shop.example", ["it@shop.example"], 5
    feed(settings, "replication_lag", ["ok"] * 3 + ["crit"] * 3, START, reason="lag 300 s")

    assert notify.deliver_due(settings, START.replace(hour=10))["delivered"] == 1

    body = message_from_bytes(smtp_server.mailbox.messages[0].original_content).get_payload()
    assert "https://shop-1.example/ops/runbooks/replication-broken" in body
    assert "appliance runbook show replication-broken" in body
    assert "runbooks/replication-broken.html beside the backups" in body


def test_every_prometheus_alert_names_a_runbook_of_the_library_and_links_it():
    library = set(load_library())
    for group in yaml.safe_load(RULES.read_text())["groups"]:
        for rule in group["rules"]:
            notes = rule.get("annotations", {})
            if "runbook" not in notes:
                continue
            assert "runbook_url" in notes, rule["alert"]
            if "{{" not in notes["runbook"]:
                assert notes["runbook"] in library, rule["alert"]
                assert notes["runbook_url"].endswith(f"/ops/runbooks/{notes['runbook']}"), rule["alert"]


def test_a_critical_check_alert_carries_its_runbook_and_the_link_to_the_box_page(tmp_path):
    promtool = tool_path("promtool", "apt-get install prometheus (./dev test does)")
    common = 'job="appliance",instance="10.0.0.5:8080",shop="shop-1",check="db_probe"'
    (tmp_path / "rules_test.yml").write_text(yaml.safe_dump({
        "rule_files": [str(RULES)],
        "evaluation_interval": "1m",
        "tests": [{
            "interval": "1m",
            "input_series": [
                {"series": f"appliance_check_status{{{common}}}", "values": "2x5"},
                {"series": f'appliance_check_runbook_info{{{common},runbook="database-down"}}', "values": "1x5"},
            ],
            "alert_rule_test": [{
                "eval_time": "2m", "alertname": "ApplianceCheckCritical",
                "exp_alerts": [{
                    "exp_labels": {"severity": "critical", "job": "appliance", "instance": "10.0.0.5:8080",
                                   "shop": "shop-1", "check": "db_probe", "runbook": "database-down"},
                    "exp_annotations": {
                        "summary": "shop-1: check db_probe is critical", "runbook": "database-down",
                        "runbook_url": "http://10.0.0.5:8080/ops/runbooks/database-down"},
                }],
            }],
        }],
    }))

    done = subprocess.run([promtool, "test", "rules", "rules_test.yml"], cwd=tmp_path, capture_output=True, text=True)

    assert done.returncode == 0, done.stdout + done.stderr


def test_the_box_exports_the_runbook_of_every_check_for_the_rules_to_join(db, settings):
    client = create_app(settings, connect=False).test_client()
    text = client.get("/metrics").get_data(as_text=True)

    assert 'appliance_check_runbook_info{check="db_probe",runbook="database-down"} 1.0' in text
    assert 'appliance_check_runbook_info{check="recovery_kit",runbook="box-lost"} 1.0' in text
