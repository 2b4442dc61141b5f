"""Orders: create (idempotent), list with filters and a cursor, read, and lifecycle actions."""
from __future__ import annotations

from datetime import datetime, timezone

from flask import current_app, jsonify, request

from appliance import orders, payments
from appliance.errors import Forbidden, Invalid
from appliance.models import CHANNELS, ORDER_STATUSES
from appliance.accounts import role_allows

from . import (actor, choice_query, current_principal, flag_arg, flag_query, int_arg, integer_query,
               request_fingerprint, route)
from .schemas import CancelIn, NoteIn, OrderIn, PayIn, ReturnIn, ShipIn


WHEN = {"anyOf": [{"type": "string", "format": "date"}, {"type": "string", "format": "date-time"}]}


def _settings():
    return current_app.config["SETTINGS"]


@route("POST", "/orders", role="staff", summary="Create an order; its stock is reserved at once unless it needs approval.",
       body=OrderIn,
       query={},
       responses={201: "created (or replayed for a repeated Idempotency-Key)",
                  404: "a line names a SKU that does not exist",
                  409: "a line lacks stock or names a product not for sale, or the Idempotency-Key was used with another body",
                  422: "invalid lines or payments"}, answer="Order")
def create_order(body: OrderIn):
    idempotency = _idempotency()
    customer = body.customer
    if customer is not None and not isinstance(customer, int):
        customer = customer.model_dump(exclude_none=True)
    paid_with = _payments(body.payments) if body.payments else None
    placed = orders.place_order(
        _settings(), channel=body.channel, lines=[orders.LineRequest(l.sku, l.qty) for l in body.lines],
        actor=actor(), customer=customer, note=body.note, idempotency=idempotency, paid_with=paid_with)
    response = jsonify(placed.data)
    response.status_code = 201
    response.headers["Location"] = f"/api/v1/orders/{placed.number}"
    if placed.replayed:
        response.headers["Idempotent-Replayed"] = "true"
    return response


def _idempotency() -> orders.Idempotency | None:
    key = request.headers.get("Idempotency-Key", "").strip()
    if len(key) > 255:
        raise Invalid("Idempotency-Key is longer than 255 characters.", [{"field": "Idempotency-Key", "message": "too long"}])
    # Scoped to the client (token or signed-in user): another client's key is just another key.
    return orders.Idempotency.of_client(actor(), key, request_fingerprint()) if key else None


def _payments(items) -> list[payments.PaymentRequest]:
    return payments.parse([item.model_dump() for item in items])


@route("POST", "/orders/{number}/pay", role="staff",
       summary="Pay what is due on an order (a split adds up to it); a paid counter (store) sale is handed over.",
       body=PayIn,
       responses={409: "pending, cancelled or returned, already paid, or the Idempotency-Key was used with another body",
                  422: "invalid payments: unknown method, amount not above zero, cash tendered below the amount, "
                       "a card above what is due, or parts that do not add up to what is due"}, answer="Order")
def pay_order(number: str, body: PayIn):
    orders.get_order(number)  # an unknown order is a 404 before its payments are weighed
    data, replayed = orders.pay_order(_settings(), number, _payments(body.payments), actor(), _idempotency())
    response = jsonify(data)
    if replayed:
        response.headers["Idempotent-Replayed"] = "true"
    return response


@route("GET", "/orders", role="staff", summary="Orders, newest first, with filters and a cursor.",
       query={"status": choice_query("only orders in this status", ORDER_STATUSES),
              "channel": choice_query("only orders of this channel", CHANNELS),
              "customer": integer_query("customer id (0: any)", 0, 2**62),
              "from": ("created at or after (ISO date or date-time; UTC unless it has an offset)", WHEN),
              "to": ("created before (ISO date or date-time; UTC unless it has an offset)", WHEN),
              "overdue": flag_query("1 for overdue orders only"),
              "q": ("order number, or part of the customer's name or phone", {"type": "string"}),
              "cursor": ("next_cursor of the previous page", {"type": "string", "pattern": "^[0-9]{1,18}$"}),
              "limit": integer_query("page size", 1, 200)}, answer="OrderPage")
def list_orders():
    filters = orders.OrderFilters(
        status=_choice("status", ORDER_STATUSES), channel=_choice("channel", CHANNELS),
        customer_id=int_arg("customer", 0, 0, 2**62) or None,
        created_from=_when("from"), created_to=_when("to"),
        overdue=flag_arg("overdue"), query=request.args.get("q") or None)
    cursor = request.args.get("cursor")
    if cursor == "":
        raise Invalid("The cursor is not valid.", [{"field": "cursor", "message": "use next_cursor from a previous page"}])
    found, next_cursor = orders.list_orders(_settings(), filters, limit=int_arg("limit", 50, 1, 200), cursor=cursor)
    return jsonify({"orders": found, "next_cursor": next_cursor})


def _choice(name: str, allowed: tuple[str, ...]) -> str | None:
    value = request.args.get(name)
    if value is not None and value not in allowed:
        raise Invalid(f"Query parameter {name} must be one of {', '.join(allowed)}.", [{"field": name, "message": "unknown value"}])
    return value or None


def _when(name: str) -> datetime | None:
    value = request.args.get(name)
    if value is None:
        return None
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
        if parsed.tzinfo is not None:
            parsed = parsed.astimezone(timezone.utc).replace(tzinfo=None)  # stored times are naive UTC
    except ValueError:
        raise Invalid(f"Query parameter {name} must be an ISO date or time.", [{"field": name, "message": "not a date"}]) from None
    except OverflowError:
        raise Invalid(f"Query parameter {name} is outside the years 1 to 9999 once turned into UTC.",
                      [{"field": name, "message": "out of range"}]) from None
    return parsed


@route("GET", "/orders/{number}", role="staff", summary="One order with its lines and timeline.", answer="Order")
def get_order(number: str):
    return jsonify(orders.order_dict(orders.get_order(number), _settings(), with_events=True))


@route("POST", "/orders/{number}/approve", role="manager", summary="Approve a pending order: its stock is reserved.",
       body=NoteIn, responses={409: "not pending, or stock no longer available"}, answer="Order")
def approve_order(number: str, body: NoteIn):
    return _act(number, "approve", note=body.note)


@route("POST", "/orders/{number}/cancel", role="staff",
       summary="Cancel a confirmed order (releases its stock); rejecting a pending order needs a manager.",
       body=CancelIn, responses={409: "not cancellable in its current state"}, answer="Order")
def cancel_order(number: str, body: CancelIn):
    order = orders.get_order(number)
    principal = current_principal()
    if order.status == "pending" and not role_allows(principal.role, "manager"):
        raise Forbidden("Rejecting an order that waits for approval needs the manager role.")
    return _act(number, "cancel", note=(body.reason or "").strip() or body.note)


@route("POST", "/orders/{number}/ship", role="staff", summary="Ship a confirmed order (stock leaves), with carrier and tracking number.",
       body=ShipIn, responses={409: "not confirmed"}, answer="Order")
def ship_order(number: str, body: ShipIn):
    return _act(number, "ship", carrier=body.carrier, tracking_number=body.tracking_number, note=body.note)


@route("POST", "/orders/{number}/deliver", role="staff", summary="Mark a shipped order delivered.",
       body=NoteIn, responses={409: "not shipped"}, answer="Order")
def deliver_order(number: str, body: NoteIn):
    return _act(number, "deliver", note=body.note)


@route("POST", "/orders/{number}/return", role="manager",
       summary="Take back some lines (or all) of a shipped or delivered order, with a refund: the stock goes back where it came from.",
       body=ReturnIn, responses={409: "not shipped or delivered",
                                 422: "more than was sold less already returned, or a refund above what was paid less refunded"}, answer="Order")
def return_order(number: str, body: ReturnIn):
    lines = [orders.LineRequest(l.sku, l.qty) for l in body.lines] if body.lines is not None else None
    return jsonify(orders.return_lines(_settings(), number, actor(), lines=lines, refund_cents=body.refund_cents,
                                       refund_method=body.refund_method, reason=body.reason or body.note))


def _act(number: str, action: str, **kwargs):
    order = orders.transition(number, action, actor(), **kwargs)
    return jsonify(orders.order_dict(order, _settings(), with_events=True))
