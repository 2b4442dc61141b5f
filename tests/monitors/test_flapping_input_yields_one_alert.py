"""Flap damping: a check bouncing between ok and crit changes state (and alerts) only once it has
been crit `confirm_count` times in a row."""
from __future__ import annotations

from datetime import datetime

from monitors.models import CheckState, StateChange

from .monitor_helpers import feed, queued

START = datetime(2026, 3, 2, 9, 0)


def test_flapping_input_yields_one_alert(db, settings, receiver):
    settings.monitors.webhook_urls = [receiver.url]
    assert settings.monitors.confirm_count == 3
    now = feed(settings, "db_probe", ["ok"] * 3, START)
    now = feed(settings, "db_probe", ["crit", "ok", "crit", "crit", "ok", "crit", "ok"], now)
    assert queued("db_probe") == []  # never three crits in a row

    now = feed(settings, "db_probe", ["crit", "crit", "crit", "crit", "ok", "crit", "ok", "crit"], now)

    alerts = queued("db_probe")
    assert [(a["kind"], a["state"], a["previous"]) for a in alerts] == [("alert", "crit", "ok")]
    assert alerts[0]["runbook"] == "database-down"
    assert CheckState.get(CheckState.check == "db_probe").state == "crit"
    assert [(c.from_state, c.to_state) for c in StateChange.select().where(StateChange.check == "db_probe")] == [
        ("unknown", "ok"), ("ok", "crit")]


def test_recovery_after_an_alert_sends_one_recovery_notice(db, settings, receiver):
    settings.monitors.webhook_urls = [receiver.url]
    now = feed(settings, "db_probe", ["ok"] * 3 + ["crit"] * 3, START)
    feed(settings, "db_probe", ["ok", "crit", "ok", "ok", "ok", "ok"], now)

    kinds = [(a["kind"], a["state"]) for a in queued("db_probe")]
    assert kinds == [("alert", "crit"), ("recovery", "ok")]


def test_checks_that_start_healthy_send_nothing(db, settings, receiver):
    settings.monitors.webhook_urls = [receiver.url]
    feed(settings, "db_probe", ["unknown", "ok", "ok", "ok", "ok"], START)
    assert queued() == []
