"""An unresolved problem is alerted again every `reminder_minutes` until someone acknowledges it;
the acknowledgement lasts until the check changes state."""
from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from monitors import engine

from .monitor_helpers import feed, queued

pytestmark = pytest.mark.calendar

START = datetime(2026, 3, 2, 9, 0)


def test_reminders_repeat_until_acknowledged(db, settings, receiver):
    settings.monitors.webhook_urls = [receiver.url]
    settings.monitors.reminder_minutes = 30
    now = feed(settings, "db_probe", ["ok"] * 3 + ["crit"] * 3, START)

    assert engine.send_reminders(settings, now + timedelta(minutes=10)) == 0
    assert engine.send_reminders(settings, now + timedelta(minutes=31)) == 1
    assert engine.send_reminders(settings, now + timedelta(minutes=40)) == 0
    assert engine.send_reminders(settings, now + timedelta(minutes=62)) == 1

    engine.acknowledge("db_probe", by="ana", note="replacing the disk", now=now + timedelta(minutes=63))
    assert engine.send_reminders(settings, now + timedelta(hours=5)) == 0
    assert [a["kind"] for a in queued()] == ["alert", "reminder", "reminder"]


def test_unknown_since_first_run_is_not_reminded(db, settings, receiver):
    settings.monitors.webhook_urls = [receiver.url]
    engine.run_check("backup_age", settings, START)  # nothing recorded by the backup package: unknown
    assert engine.send_reminders(settings, START + timedelta(days=1)) == 0
