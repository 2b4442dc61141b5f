"""A webhook receiver that is down does not lose the alert: the failure is recorded and the outbox
retries with growing waits until the receiver answers."""
from __future__ import annotations

from datetime import datetime, timedelta

from monitors import notify
from monitors.models import Notification

from .monitor_helpers import feed
from .monitor_servers import WebhookReceiver

START = datetime(2026, 3, 2, 9, 0)


def test_receiver_that_was_down_gets_the_alert_once_back(db, settings):
    hook = WebhookReceiver()  # port chosen, nothing listening yet
    settings.monitors.webhook_urls = [hook.url]
    settings.monitors.retry_base_seconds = 30
    now = feed(settings, "readyz", ["ok"] * 3 + ["crit"] * 3, START)

    assert notify.deliver_due(settings, now) == {"delivered": 0, "failed": 1}
    assert notify.deliver_due(settings, now + timedelta(seconds=10)) == {"delivered": 0, "failed": 0}  # waits
    assert notify.deliver_due(settings, now + timedelta(seconds=31)) == {"delivered": 0, "failed": 1}
    note = Notification.get()
    assert note.attempts == 2
    assert note.next_attempt_at == now + timedelta(seconds=31 + 60)  # doubled
    assert "Connection refused" in note.last_error

    hook.start()
    try:
        assert notify.deliver_due(settings, now + timedelta(seconds=95)) == {"delivered": 1, "failed": 0}
    finally:
        hook.stop()
    assert [a["state"] for a in hook.received] == ["crit"]
    assert Notification.get().delivered_at is not None


def test_undelivered_alerts_show_in_the_alert_delivery_check(db, settings):
    from monitors import engine
    settings.monitors.webhook_urls = [WebhookReceiver().url]
    now = feed(settings, "readyz", ["ok"] * 3 + ["crit"] * 3, START)
    notify.deliver_due(settings, now)

    state = engine.run_check("alert_delivery", settings, now + timedelta(minutes=20))
    assert state.state == "warn"
    assert "Connection refused" in state.reason
