"""/ops health panel: every check the monitors run, with state, value and since when (problems first,
crit and warn highlighted); an admin acknowledges, silences and plans maintenance from it, the
monitors engine then reports exactly that, each action is in the audit log, and a post without the
CSRF token or from a non-admin changes nothing."""
from __future__ import annotations

import re
from datetime import timedelta

import pytest

from appliance.models import AuditEvent, OperationRun, utcnow
from monitors import engine, status, uptime
from monitors.checks import Result, catalog, config_for
from monitors.models import Acknowledgement, CheckState, MaintenanceWindow, Silence

from .web_helpers import post_form

pytestmark = pytest.mark.calendar

ACTIONS = ["/ops/health/acknowledge", "/ops/health/silence", "/ops/health/maintenance"]


def confirmed(settings, check: str, state: str, value, reason: str) -> None:
    """Enough agreeing results for flap damping to confirm the state, as the scheduler would record them."""
    config = config_for(catalog()[check], settings)
    start = utcnow() - timedelta(minutes=10)
    for n in range(config.confirm_count):
        engine.record(check, Result(state, value, reason), settings, config, start + timedelta(minutes=n))


def row_of(settings, check: str) -> dict:
    return next(r for r in status.rows(settings) if r["check"] == check)


def check_row(body: str, check: str) -> str:
    match = re.search(rf'<tr class="state-(\w+)" data-check="{check}">(.*?)</tr>', body, re.S)
    assert match, f"no row for {check}"
    return match[1] + " " + match[2]


@pytest.fixture
def troubled(settings, db):
    confirmed(settings, "readyz", "crit", 5.2, "GET /readyz took 5.2 s")
    confirmed(settings, "stuck_pending", "warn", 2, "2 orders waiting for approval over 4 h")
    confirmed(settings, "stock_ledger", "ok", 0, "stock matches the ledger")
    return settings


def test_every_check_is_listed_with_state_value_since_and_problems_come_first(admin, troubled):
    body = admin.get("/ops").get_data(as_text=True)

    listed = re.findall(r'data-check="([^"]+)"', body)
    assert sorted(listed) == sorted(r["check"] for r in status.rows(troubled))
    assert listed[:2] == ["readyz", "stuck_pending"]          # crit, then warn, then the rest
    readyz = check_row(body, "readyz")
    assert readyz.startswith("crit") and "5.2" in readyz and "GET /readyz took 5.2 s" in readyz
    assert row_of(troubled, "readyz")["since"].strftime("%Y-%m-%d %H:%M") in readyz
    assert "Acknowledge readyz" in readyz
    assert check_row(body, "stuck_pending").startswith("warn")
    ledger = check_row(body, "stock_ledger")
    assert ledger.startswith("ok") and "Acknowledge" not in ledger and "Silence stock_ledger" in ledger
    assert 'class="card panel panel-crit wide" data-panel="Health checks"' in body
    assert "1 crit, 1 warn" in body


def test_acknowledging_stops_reminders_and_is_audited(admin, troubled):
    response = post_form(admin, "/ops/health/acknowledge", {"check": "readyz", "note": "restarting the service"})

    assert response.status_code == 302 and response.headers["Location"].endswith("/ops")
    assert row_of(troubled, "readyz")["acknowledged_by"] == "ada"
    assert Acknowledgement.get().note == "restarting the service"
    reminders = engine.send_reminders(troubled, utcnow() + timedelta(hours=3))
    assert reminders == 1                                       # stuck_pending, not the acknowledged readyz
    assert CheckState.get(CheckState.check == "stuck_pending").notified_at > utcnow()
    assert CheckState.get(CheckState.check == "readyz").notified_at < utcnow()
    event = AuditEvent.get(AuditEvent.action == "monitors.acknowledge")
    assert (event.actor, event.entity, event.entity_id) == ("ada", "check", "readyz")
    page = admin.get("/ops").get_data(as_text=True)
    assert "ack ada" in check_row(page, "readyz") and "Acknowledge readyz" not in page


def test_acknowledging_a_healthy_check_is_refused(admin, troubled):
    response = post_form(admin, "/ops/health/acknowledge", {"check": "stock_ledger"})

    assert response.status_code == 409
    assert "stock_ledger is ok: there is no problem to acknowledge." in response.get_data(as_text=True)
    assert Acknowledgement.select().count() == 0


def test_silencing_holds_back_notifications_for_the_chosen_time(admin, troubled):
    before = utcnow()
    response = post_form(admin, "/ops/health/silence", {"check": "stuck_pending", "minutes": "240"})

    assert response.status_code == 302
    silence = Silence.get()
    assert silence.check == "stuck_pending" and silence.by == "ada"
    assert timedelta(hours=4) <= silence.ends_at - before < timedelta(hours=4, seconds=30)
    assert row_of(troubled, "stuck_pending")["suppressed_by"] == f"silence #{silence.id}"
    assert engine.suppression("stuck_pending", silence.ends_at + timedelta(seconds=1)) is None
    assert AuditEvent.get(AuditEvent.action == "monitors.silence").entity_id == str(silence.id)
    assert "until " + silence.ends_at.strftime("%Y-%m-%d %H:%M") in admin.get("/ops").get_data(as_text=True)


def test_a_maintenance_window_suppresses_alerts_and_counts_as_planned_uptime(admin, troubled):
    response = post_form(admin, "/ops/health/maintenance",
                         {"start": "", "minutes": "90", "checks": "readyz", "reason": "replace the UPS battery"})

    assert response.status_code == 302
    window = MaintenanceWindow.get()
    assert (window.checks, window.reason, window.by) == ("readyz", "replace the UPS battery", "ada")
    assert window.ends_at - window.starts_at == timedelta(minutes=90)
    assert row_of(troubled, "readyz")["suppressed_by"] == f"maintenance #{window.id}"
    assert row_of(troubled, "stuck_pending")["suppressed_by"] == ""      # only the named check
    assert uptime.planned_spans(["readyz"], window.starts_at, window.ends_at) == [(window.starts_at, window.ends_at)]
    event = AuditEvent.get(AuditEvent.action == "monitors.maintenance")
    assert '"reason":"replace the UPS battery"' in event.after


def test_a_bad_maintenance_form_shows_the_error_by_its_field_and_keeps_what_was_typed(admin, troubled):
    past = (utcnow() - timedelta(hours=2)).strftime("%Y-%m-%dT%H:%M")
    response = post_form(admin, "/ops/health/maintenance",
                         {"start": past, "minutes": "30", "checks": "*", "reason": "rewrite history"})

    assert response.status_code == 422
    body = response.get_data(as_text=True)
    assert re.search(r'id="mw-start-error">A maintenance window cannot start in the past', body)
    assert 'value="rewrite history"' in body and f'value="{past}"' in body
    no_reason = post_form(admin, "/ops/health/maintenance", {"start": "", "minutes": "30", "reason": " "})
    assert no_reason.status_code == 422 and 'id="mw-reason-error"' in no_reason.get_data(as_text=True)
    unknown = post_form(admin, "/ops/health/silence", {"check": "no_such_check", "minutes": "60"})
    assert unknown.status_code == 422 and "Choose a check this box runs." in unknown.get_data(as_text=True)
    assert MaintenanceWindow.select().count() == Silence.select().count() == 0


@pytest.mark.parametrize("path", ACTIONS)
def test_a_post_without_the_csrf_token_is_refused_and_changes_nothing(admin, troubled, path):
    response = admin.post(path, data={"check": "readyz", "minutes": "60", "reason": "x"})

    assert response.status_code == 403
    assert "did not come from this site" in response.get_data(as_text=True)
    assert row_of(troubled, "readyz")["acknowledged_by"] is None
    assert row_of(troubled, "readyz")["suppressed_by"] == ""


@pytest.mark.parametrize("path", ACTIONS)
def test_a_manager_with_a_valid_token_is_refused(manager, troubled, path):
    response = post_form(manager, path, {"check": "readyz", "minutes": "60", "reason": "x"})

    assert response.status_code == 403
    assert "needs the admin role" in response.get_data(as_text=True)
    assert row_of(troubled, "readyz")["acknowledged_by"] is None
    assert row_of(troubled, "readyz")["suppressed_by"] == ""
    assert AuditEvent.select().where(AuditEvent.action.startswith("monitors.")).count() == 0


def test_each_form_runs_the_monitors_operation_and_the_ledger_records_who(admin, troubled):
    post_form(admin, "/ops/health/acknowledge", {"check": "readyz", "note": "on it"})
    post_form(admin, "/ops/health/silence", {"check": "stuck_pending", "minutes": "60"})
    post_form(admin, "/ops/health/maintenance", {"start": "", "minutes": "30", "checks": "*", "reason": "new UPS"})

    runs = OperationRun.select().order_by(OperationRun.id)
    assert [r.operation for r in runs] == ["monitors.ack", "monitors.silence", "monitors.maintenance"]
    assert {(r.outcome, r.actor, r.actor_role, r.source) for r in runs} == {("ok", "ada", "admin", "web")}
