"""An endpoint made on the page gets its secret once; an order taken afterwards reaches the receiver on
127.0.0.1 as a signed order.created event through the monitors' outbox; the receiver's 500 is logged
and the same event comes again after the backoff, with a signature the documented check accepts and
that fails for a changed body or another secret. The secret is on no later page, log line or audit event."""
from __future__ import annotations

import json
import logging
import re
from datetime import timedelta

from appliance import inventory, orders, payments
from appliance.models import AuditEvent
from monitors import notify, webhooks

from tests.web.web_helpers import post_form

from .conftest import verify


def test_an_order_event_is_signed_retried_after_a_500_and_logged(admin, settings, receiver, calendar_now, caplog):
    made = post_form(admin, "/integrations/webhooks", {"url": receiver.url, "events": ["order.created", "order.paid"],
                                                       "description": "ERP"})
    secret = re.search(r'<code id="secret">(whsec_[\w-]+)</code>', made.get_data(as_text=True)).group(1)
    endpoint = webhooks.WebhookEndpoint.get()
    inventory.create_product({"sku": "TEA", "name": "Green tea", "price_cents": 350}, "test")
    inventory.receive("TEA", 10, "test")  # a stock.changed event: this endpoint did not ask for it
    order, _ = orders.create_order(settings, channel="api", lines=[orders.LineRequest("TEA", 2)], actor="test")
    now = calendar_now.replace(tzinfo=None)

    assert webhooks.enqueue_events(settings, now) == 1
    assert webhooks.enqueue_events(settings, now) == 0  # queued once
    receiver.answers = [500]
    with caplog.at_level(logging.DEBUG):
        assert notify.deliver_due(settings, now) == {"delivered": 0, "failed": 1}
        assert notify.deliver_due(settings, now + timedelta(seconds=1)) == {"delivered": 0, "failed": 0}  # backing off
        later = now + timedelta(seconds=settings.monitors.retry_base_seconds)
        assert notify.deliver_due(settings, later) == {"delivered": 1, "failed": 0}

    (first_headers, first_body), (headers, body) = receiver.requests
    assert first_body == body  # the same event, byte for byte
    event = json.loads(body)
    assert (event["type"], event["data"]["order"]["number"]) == ("order.created", order.number)
    assert event["data"]["order"]["total_cents"] == 700
    assert headers["X-Appliance-Event"] == "order.created" and headers["X-Appliance-Event-Id"] == event["id"]
    assert verify(secret, headers, body)
    assert not verify(secret, headers, body.replace(b"700", b"1"))  # changed on the way
    assert not verify("whsec_another", headers, body)
    assert not verify(secret, headers, body, now=int(headers["X-Appliance-Timestamp"]) + 3600)  # replayed later

    log = [(d.attempt, d.status_code, d.error) for d in reversed(webhooks.delivery_log(endpoint))]
    assert log == [(1, 500, "answered 500 Internal Server Error"), (2, 200, None)]
    page = admin.get(f"/integrations/webhooks/{endpoint.id}").get_data(as_text=True)
    assert "answered 500 Internal Server Error" in page and event["id"] in page
    for text in (page, admin.get("/integrations/webhooks").get_data(as_text=True), caplog.text,
                 " ".join(f"{e.before} {e.after}" for e in AuditEvent.select())):
        assert secret not in text


def test_payments_that_settle_an_order_and_stock_moves_are_events_too(admin, settings, receiver, calendar_now):
    webhooks.create_endpoint(receiver.url, ["order.paid", "stock.changed", "order.status_changed"], "ada")
    inventory.create_product({"sku": "TEA", "name": "Green tea", "price_cents": 350}, "test")
    inventory.receive("TEA", 10, "test")
    order, _ = orders.create_order(settings, channel="store", lines=[orders.LineRequest("TEA", 2)], actor="test")
    orders.pay_order(settings, order.number, [payments.PaymentRequest("card", 300),  # split: two payments
                                              payments.PaymentRequest("cash", 400)], "test")
    now = calendar_now.replace(tzinfo=None)
    webhooks.enqueue_events(settings, now)
    notify.deliver_due(settings, now)
    events = {e["type"]: e["data"] for e in receiver.events()}
    assert events["order.paid"]["paid_cents"] == 700 and events["order.paid"]["number"] == order.number
    assert [e["type"] for e in receiver.events()].count("order.paid") == 1  # the payment that settled it only
    assert (events["stock.changed"]["sku"], events["stock.changed"]["available"]) == ("TEA", 8)
