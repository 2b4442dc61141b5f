"""Only http(s) URLs are taken (file:, javascript:, ftp: and the like are refused on the field, nothing
is made), an endpoint needs an event; the test button sends a signed webhook.test through the outbox
at once and the page says how it went, and a receiver that is down leaves it queued for the retries."""
from __future__ import annotations

from datetime import timedelta

from monitors import webhooks
from monitors.checks import CheckContext, config_for, meta
from monitors.models import Notification

from tests.monitors.monitor_servers import free_port
from tests.web.web_helpers import post_form

from .conftest import verify


def test_it_refuses_a_url_that_is_not_http_or_https(admin):
    for url in ("file:///etc/passwd", "javascript:alert(1)", "ftp://files.example/x", "gopher://x", "http://",
                "erp.example/hooks"):
        answer = post_form(admin, "/integrations/webhooks", {"url": url, "events": ["order.created"]})
        assert answer.status_code == 422, url
        assert 'id="url-error">must be an http(s) URL<' in answer.get_data(as_text=True)
    assert webhooks.WebhookEndpoint.select().count() == 0


def test_it_refuses_an_endpoint_without_events_and_staff_and_managers_cannot_open_it(admin, manager, receiver):
    answer = post_form(admin, "/integrations/webhooks", {"url": receiver.url})
    assert answer.status_code == 422 and "Choose at least one event" in answer.get_data(as_text=True)
    assert manager.get("/integrations/webhooks").status_code == 403
    assert post_form(manager, "/integrations/webhooks", {"url": receiver.url, "events": ["order.created"]}).status_code == 403


def test_the_test_button_delivers_a_signed_test_event_or_leaves_it_queued(admin, settings, receiver):
    endpoint, secret = webhooks.create_endpoint(receiver.url, ["stock.changed"], "ada")
    answer = post_form(admin, f"/integrations/webhooks/{endpoint.id}/test", follow_redirects=True)
    assert "The test event was delivered (HTTP 200)." in answer.get_data(as_text=True)
    ((headers, body),) = receiver.requests
    assert headers["X-Appliance-Event"] == "webhook.test" and verify(secret, headers, body)
    later = webhooks.WebhookDelivery.get().at + timedelta(days=settings.monitors.history_days, seconds=1)
    assert webhooks.prune(settings, later) == 1  # the log is kept as long as the outbox's history
    down, _ = webhooks.create_endpoint(f"http://127.0.0.1:{free_port()}/nobody", ["stock.changed"], "ada")
    answer = post_form(admin, f"/integrations/webhooks/{down.id}/test", follow_redirects=True)
    assert "The test event was not delivered" in answer.get_data(as_text=True)
    (queued,) = webhooks.pending(down)
    assert (queued.attempts, queued.kind) == (1, "webhook.test")
    post_form(admin, f"/integrations/webhooks/{down.id}/delete")
    assert not Notification.select().where(Notification.id == queued.id).exists()  # nobody to receive it


def test_an_undelivered_webhook_is_not_an_undelivered_alert(db, settings, calendar_now):
    """An integration that is down is the webhook page's business: the alert_delivery check (runbook
    "alerts-undelivered") and appliance_alerts_undelivered count alerts only."""
    endpoint, _ = webhooks.create_endpoint(f"http://127.0.0.1:{free_port()}/nobody", ["stock.changed"], "ada")
    an_hour_ago = calendar_now.replace(tzinfo=None) - timedelta(hours=1)
    webhooks.enqueue("stock.changed", "stock.changed-1-TEA", an_hour_ago, {}, [endpoint])
    (check,) = meta.CHECKS
    result = check.run(CheckContext(settings, config_for(check, settings), calendar_now.replace(tzinfo=None)))
    assert (result.state, result.reason) == ("ok", "every alert delivered")
