"""Outbound webhooks for integrations (finance, ERP, CRM): the shop's events POSTed, signed, to endpoints.

How an event travels:
1. `enqueue_events` (a scheduler job, every OUTBOX_SECONDS) reads what happened since its last run from
   the shop's own append-only records (new orders, order status changes, payments that settle an
   order, stock ledger rows), by id cursors kept in KeyValue. Reading the records, rather than being
   called by the code that writes them, means no write path needs to know about webhooks, and an
   order taken by the order writer's process (appliance/order_writer.py) is seen like any other.
   For each event and each endpoint whose filter takes it, it adds one row to the monitors' outbox
   (monitors.models.Notification, channel "integration"), in the same transaction that moves the
   cursors: an event is queued exactly once.
2. `notify.deliver_due` sends outbox rows as it sends alerts and retries failures with the same
   exponential backoff (monitors.retry_base_seconds … retry_max_seconds); it hands integration rows
   to `deliver`, which signs and POSTs them and writes each attempt to the endpoint's delivery log.

Signature (docs/api.md "Webhooks"): `X-Appliance-Signature: sha256=<hex>`, the HMAC-SHA256 with the
endpoint's secret of `<X-Appliance-Timestamp>.<raw body>`; the timestamp (Unix seconds, at sending)
lets the receiver refuse replays. Secrets are made here, shown once when the endpoint is created, and
never written to a log, an error, the audit trail or a page after that.
"""
from __future__ import annotations

import hashlib
import hmac
import json
import secrets
import time
import urllib.error
import urllib.request
from datetime import datetime, timedelta
from urllib.parse import urlsplit

from peewee import BooleanField, CharField, DateTimeField, ForeignKeyField, IntegerField, TextField, fn

from appliance import audit, orders
from appliance.config import Settings
from appliance.db import write_transaction
from appliance.errors import Invalid, NotFound
from appliance.inventory import stock_summary
from appliance.models import BaseModel, KeyValue, Order, OrderEvent, Payment, Product, StockMovement, utcnow

from . import notify
from .models import INTEGRATION_CHANNEL, Notification

CHANNEL = INTEGRATION_CHANNEL
EVENT_TYPES = {
    "order.created": "An order was taken (any channel, the order writer's too).",
    "order.status_changed": "An order was approved, shipped, delivered, cancelled or returned.",
    "order.paid": "Payments reached the order's total.",
    "stock.changed": "A product's stock moved (receipts, sales, returns, adjustments, stocktakes).",
}
TEST_EVENT = "webhook.test"
SIGNATURE_HEADER = "X-Appliance-Signature"
TIMESTAMP_HEADER = "X-Appliance-Timestamp"
BATCH = 500  # records read per source and run: a backlog drains over a few runs, never in one huge transaction
_CURSOR = "webhooks.cursor."


class WebhookEndpoint(BaseModel):
    url = CharField(max_length=2000)
    secret = CharField(max_length=128)  # needed in clear to sign; never shown again after creation
    events = TextField()  # comma-separated event types
    description = CharField(max_length=200, default="")
    created_by = CharField(max_length=100)
    created_at = DateTimeField(default=utcnow)
    active = BooleanField(default=True)

    class Meta:
        table_name = "webhook_endpoint"

    @property
    def event_types(self) -> list[str]:
        return [e for e in self.events.split(",") if e]


class WebhookDelivery(BaseModel):
    """The delivery log: one row per attempt to POST one outbox row to its endpoint."""
    endpoint = ForeignKeyField(WebhookEndpoint, backref="deliveries", on_delete="CASCADE")
    notification_id = IntegerField(index=True)  # the outbox row (monitors.models.Notification)
    event_type = CharField(max_length=64)
    event_id = CharField(max_length=100)
    attempt = IntegerField()
    at = DateTimeField(default=utcnow, index=True)
    status_code = IntegerField(null=True)  # None: no HTTP answer (refused, timed out…)
    error = TextField(null=True)
    duration_ms = IntegerField(default=0)

    class Meta:
        table_name = "webhook_delivery"


MODELS = [WebhookEndpoint, WebhookDelivery]


# -- endpoints --------------------------------------------------------------------------------

def check_url(url: str) -> str:
    url = (url or "").strip()
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname or len(url) > 2000:
        raise Invalid("A webhook URL starts with http:// or https:// and names a host.",
                      [{"field": "url", "message": "must be an http(s) URL"}])
    return url


def create_endpoint(url: str, events: list[str], actor: str, description: str = "") -> tuple[WebhookEndpoint, str]:
    """Returns the endpoint and its secret: the one time the secret is handed out."""
    url = check_url(url)
    unknown = [e for e in events if e not in EVENT_TYPES]
    if unknown or not events:
        raise Invalid("Choose at least one event: " + ", ".join(EVENT_TYPES) + ".",
                      [{"field": "events", "message": "unknown: " + ", ".join(unknown) if unknown else "choose one"}])
    secret = "whsec_" + secrets.token_urlsafe(32)
    with write_transaction():
        if not WebhookEndpoint.select().where(WebhookEndpoint.active).exists():
            # Events start now for the first endpoint, not where a since-deleted one stopped.
            for source, model in _SOURCES.items():
                KeyValue.put(_CURSOR + source, str(model.select(fn.MAX(model.id)).scalar() or 0))
        endpoint = WebhookEndpoint.create(url=url, secret=secret, events=",".join(sorted(set(events))),
                                          description=description.strip()[:200], created_by=actor)
        audit.record(actor, "webhook.create", "webhook", endpoint.id,  # never the secret
                     after={"url": url, "events": endpoint.event_types})
    return endpoint, secret


def delete_endpoint(endpoint_id: int, actor: str) -> None:
    """Removes the endpoint, its log and its undelivered outbox rows (nobody would receive them)."""
    with write_transaction():
        endpoint = endpoint_by_id(endpoint_id)
        Notification.delete().where((Notification.check == _outbox_key(endpoint.id))
                                    & Notification.delivered_at.is_null()).execute()
        WebhookDelivery.delete().where(WebhookDelivery.endpoint == endpoint).execute()
        endpoint.delete_instance()
        audit.record(actor, "webhook.delete", "webhook", endpoint_id, before={"url": endpoint.url})


def endpoint_by_id(endpoint_id: int) -> WebhookEndpoint:
    endpoint = WebhookEndpoint.get_or_none(WebhookEndpoint.id == endpoint_id)
    if endpoint is None:
        raise NotFound(f"No webhook endpoint {endpoint_id}.", [{"webhook": endpoint_id}])
    return endpoint


def delivery_log(endpoint: WebhookEndpoint, limit: int = 100) -> list[WebhookDelivery]:
    return list(WebhookDelivery.select().where(WebhookDelivery.endpoint == endpoint)
                .order_by(WebhookDelivery.id.desc()).limit(limit))


def pending(endpoint: WebhookEndpoint) -> list[Notification]:
    return list(Notification.select().where((Notification.check == _outbox_key(endpoint.id))
                                            & Notification.delivered_at.is_null()).order_by(Notification.id))


def _outbox_key(endpoint_id: int) -> str:
    # The outbox row's `check` column names the endpoint (indexed), as it names the check of an alert.
    return f"webhook:{endpoint_id}"


# -- events -----------------------------------------------------------------------------------

def event_body(event_type: str, event_id: str, at: datetime, data: dict) -> str:
    """The raw body every endpoint gets for an event (the signature covers exactly these bytes)."""
    return json.dumps({"id": event_id, "type": event_type, "created_at": at.isoformat() + "Z", "data": data},
                      separators=(",", ":"), sort_keys=True, default=str)


def enqueue(event_type: str, event_id: str, at: datetime, data: dict,
            endpoints: list[WebhookEndpoint] | None = None) -> list[Notification]:
    """One outbox row per endpoint that takes this event type."""
    body = event_body(event_type, event_id, at, data)
    targets = endpoints if endpoints is not None else _subscribed(event_type)
    return [Notification.create(check=_outbox_key(e.id), kind=event_type[:16], channel=CHANNEL, target=e.url,
                                payload=body, created_at=at, next_attempt_at=at) for e in targets]


def _subscribed(event_type: str) -> list[WebhookEndpoint]:
    return [e for e in WebhookEndpoint.select().where(WebhookEndpoint.active) if event_type in e.event_types]


def send_test(endpoint_id: int, settings: Settings, now: datetime | None = None) -> WebhookDelivery | None:
    """The page's test button: a `webhook.test` event for this endpoint through the outbox, tried at once
    (a failure stays in the outbox and is retried like any other). Returns the attempt's log row."""
    now = now or utcnow()
    endpoint = endpoint_by_id(endpoint_id)
    with write_transaction():
        (note,) = enqueue(TEST_EVENT, f"test-{secrets.token_hex(8)}", now, {"endpoint": endpoint.id,
                          "message": "A test event from Store Appliance."}, endpoints=[endpoint])
    notify.deliver_due(settings, now, only=[note.id])
    return WebhookDelivery.select().where(WebhookDelivery.notification_id == note.id).order_by(WebhookDelivery.id.desc()).first()


def prune(settings: Settings, now: datetime | None = None) -> int:
    """Forgets delivery log rows older than `monitors.history_days`, as the outbox forgets delivered rows."""
    keep_from = (now or utcnow()) - timedelta(days=settings.monitors.history_days)
    return WebhookDelivery.delete().where(WebhookDelivery.at < keep_from).execute()


def enqueue_events(settings: Settings, now: datetime | None = None) -> int:
    """Queues the events recorded since the last run for the endpoints that take them; returns how many
    outbox rows it added. Events start when the first endpoint is made (no replay of the shop's past)."""
    now = now or utcnow()
    endpoints = list(WebhookEndpoint.select().where(WebhookEndpoint.active))
    if not endpoints:
        return 0  # without a reader the box's write lock is not worth taking every 15 s
    with write_transaction():
        cursors = {source: _cursor(source, model) for source, model in _SOURCES.items()}
        events = (_new_orders(cursors, settings) + _status_changes(cursors) + _payments(cursors, settings)
                  + _stock_changes(cursors))
        added = 0
        for event_type, event_id, data in events:
            added += len(enqueue(event_type, event_id, now, data,
                                 [e for e in endpoints if event_type in e.event_types]))
        for source, last in cursors.items():
            KeyValue.put(_CURSOR + source, str(last))
    return added


# Read by id: every write transaction holds the box's write lock from its start (appliance.db), so ids
# are committed in the order they are given and a cursor never skips a row committed late.
_SOURCES = {"orders": Order, "order_events": OrderEvent, "payments": Payment, "stock": StockMovement}


def _cursor(source: str, model) -> int:
    row = KeyValue.get_or_none(KeyValue.key == _CURSOR + source)
    if row is not None:
        return int(row.value)
    last = model.select(fn.MAX(model.id)).scalar() or 0  # start from now
    KeyValue.put(_CURSOR + source, str(last))
    return last


def _new_orders(cursors: dict, settings: Settings) -> list[tuple]:
    rows = list(Order.select().where(Order.id > cursors["orders"]).order_by(Order.id).limit(BATCH))
    if rows:
        cursors["orders"] = rows[-1].id
    return [("order.created", f"order.created-{o.id}", {"order": orders.order_dict(o, settings)}) for o in rows]


def _status_changes(cursors: dict) -> list[tuple]:
    rows = list(OrderEvent.select(OrderEvent, Order.number).join(Order).where(OrderEvent.id > cursors["order_events"])
                .order_by(OrderEvent.id).limit(BATCH))
    if rows:
        cursors["order_events"] = rows[-1].id
    return [("order.status_changed", f"order.status_changed-{e.id}",
             {"number": e.order.number, "from": e.from_status, "to": e.to_status, "at": e.at.isoformat() + "Z",
              "note": e.note}) for e in rows if e.from_status and e.from_status != e.to_status]


def _payments(cursors: dict, settings: Settings) -> list[tuple]:
    """order.paid for the payment that brought an order's payments (less refunds) up to its total."""
    rows = list(Payment.select().where(Payment.id > cursors["payments"]).order_by(Payment.id).limit(BATCH))
    if rows:
        cursors["payments"] = rows[-1].id
    events = []
    for payment in rows:
        if payment.kind != "payment":
            continue
        order = Order.get_by_id(payment.order_id)
        paid = _net_paid(order.id, payment.id)
        if paid - payment.amount_cents < order.total_cents <= paid:
            events.append(("order.paid", f"order.paid-{payment.id}",
                           {"number": order.number, "total_cents": order.total_cents, "paid_cents": paid,
                            "method": payment.method, "at": payment.at.isoformat() + "Z"}))
    return events


def _net_paid(order_id: int, up_to_payment_id: int) -> int:
    totals = dict(Payment.select(Payment.kind, fn.SUM(Payment.amount_cents))
                  .where((Payment.order == order_id) & (Payment.id <= up_to_payment_id))
                  .group_by(Payment.kind).tuples())
    return int(totals.get("payment") or 0) - int(totals.get("refund") or 0)


def _stock_changes(cursors: dict) -> list[tuple]:
    """One stock.changed per product moved since the last run: its levels now and the moves."""
    rows = list(StockMovement.select().where(StockMovement.id > cursors["stock"]).order_by(StockMovement.id).limit(BATCH))
    if not rows:
        return []
    cursors["stock"] = rows[-1].id
    by_product: dict[int, list[StockMovement]] = {}
    for move in rows:
        by_product.setdefault(move.product_id, []).append(move)
    events = []
    for product_id, moves in by_product.items():
        summary = stock_summary(Product.get_by_id(product_id))
        events.append(("stock.changed", f"stock.changed-{moves[-1].id}-{summary['sku']}", {
            **summary, "movements": [{"kind": m.kind, "on_hand_delta": m.on_hand_delta, "reserved_delta": m.reserved_delta,
                                      "reference": m.reference, "at": m.created_at.isoformat() + "Z"} for m in moves]}))
    return events


# -- delivery ---------------------------------------------------------------------------------

def signature(secret: str, timestamp: str, body: bytes) -> str:
    return "sha256=" + hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256).hexdigest()


class _NoRedirects(urllib.request.HTTPRedirectHandler):
    """A redirect is a failed delivery: following it would re-send the event as a GET, or elsewhere."""

    def redirect_request(self, req, fp, code, msg, headers, newurl):
        return None


_OPENER = urllib.request.build_opener(_NoRedirects)


def deliver(note: Notification, settings: Settings) -> None:
    """POSTs one outbox row, signed, and logs the attempt; raises notify.DeliveryError unless a 2xx came back."""
    endpoint = WebhookEndpoint.get_or_none(WebhookEndpoint.id == int(note.check.split(":", 1)[1]))
    if endpoint is None:
        raise notify.DeliveryError("the webhook endpoint was deleted")
    body = note.payload.encode()
    event = json.loads(note.payload)
    timestamp = str(int(time.time()))
    request = urllib.request.Request(endpoint.url, data=body, method="POST", headers={
        "Content-Type": "application/json", "User-Agent": "store-appliance-webhooks",
        "X-Appliance-Event": event["type"], "X-Appliance-Event-Id": event["id"],
        "X-Appliance-Delivery": str(note.id), TIMESTAMP_HEADER: timestamp,
        SIGNATURE_HEADER: signature(endpoint.secret, timestamp, body)})
    started = time.monotonic()
    status, error = None, None
    try:
        with _OPENER.open(request, timeout=settings.monitors.webhook_timeout_seconds) as response:
            status = response.status
            response.read(65536)
    except urllib.error.HTTPError as e:
        status, error = e.code, f"answered {e.code} {e.reason}"
    except (urllib.error.URLError, OSError) as e:
        error = f"{getattr(e, 'reason', e)}"
    WebhookDelivery.create(endpoint=endpoint, notification_id=note.id, event_type=event["type"], event_id=event["id"],
                           attempt=note.attempts + 1, status_code=status, error=error,
                           duration_ms=int((time.monotonic() - started) * 1000))
    if error:
        # The host only: a URL's user:password@ or query may carry the receiver's credentials.
        raise notify.DeliveryError(f"webhook {endpoint.id} ({urlsplit(endpoint.url).hostname}): {error}")


notify.CHANNELS[CHANNEL] = deliver
