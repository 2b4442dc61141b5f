"""A silence or a maintenance window holds back notifications; the ledger still records every change,
marked with what suppressed it."""
from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from monitors import engine
from monitors.models import StateChange

from .monitor_helpers import feed, queued

pytestmark = pytest.mark.calendar

START = datetime(2026, 3, 2, 9, 0)


def _changes(check):
    return [(c.to_state, c.suppressed_by) for c in StateChange.select().where(StateChange.check == check).order_by(StateChange.id)]


def test_silence_suppresses_notifications_not_the_ledger(db, settings, receiver):
    settings.monitors.webhook_urls = [receiver.url]
    now = feed(settings, "db_probe", ["ok"] * 3, START)
    silence = engine.silence("db_probe", now + timedelta(hours=1), by="ana", reason="moving the disk", now=now)

    feed(settings, "db_probe", ["crit"] * 3 + ["ok"] * 3, now)

    assert queued() == []
    assert _changes("db_probe") == [("ok", ""), ("crit", f"silence #{silence.id}"), ("ok", f"silence #{silence.id}")]


def test_silence_of_another_check_does_not_hide_this_one(db, settings, receiver):
    settings.monitors.webhook_urls = [receiver.url]
    now = feed(settings, "db_probe", ["ok"] * 3, START)
    engine.silence("readyz", now + timedelta(hours=1), by="ana", now=now)
    feed(settings, "db_probe", ["crit"] * 3, now)
    assert [a["state"] for a in queued()] == ["crit"]


def test_maintenance_window_suppresses_notifications_not_the_ledger(db, settings, receiver):
    settings.monitors.webhook_urls = [receiver.url]
    now = feed(settings, "readyz", ["ok"] * 3, START)
    window = engine.plan_maintenance(now, now + timedelta(minutes=30), by="ana", reason="upgrade")

    now = feed(settings, "readyz", ["crit"] * 3 + ["ok"] * 3, now)

    assert queued() == []
    assert _changes("readyz") == [("ok", ""), ("crit", f"maintenance #{window.id}"), ("ok", f"maintenance #{window.id}")]


def test_problem_still_present_when_the_window_ends_is_alerted_then(db, settings, receiver):
    settings.monitors.webhook_urls = [receiver.url]
    now = feed(settings, "readyz", ["ok"] * 3, START)
    engine.plan_maintenance(now, now + timedelta(minutes=10), by="ana", checks="readyz")
    now = feed(settings, "readyz", ["crit"] * 3, now)
    assert engine.send_reminders(settings, now) == 0  # still inside the window

    assert engine.send_reminders(settings, now + timedelta(minutes=11)) == 1
    assert [(a["kind"], a["state"]) for a in queued()] == [("alert", "crit")]
