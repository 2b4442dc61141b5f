"""Payments and refunds of orders, and the takings they add up to.

A payment names its method (cash, card, other) and an amount above zero; cash may be tendered in
excess (the change is tendered - amount), a card or other method takes exactly its amount. Payments
given together (a split) must add up to what is due, so an order is paid in full in one step. A
refund gives back at most what was paid and not yet refunded.

This module records and checks; appliance.orders decides when an order is paid (and a counter sale
handed over) and moves its stock. Everything here runs inside the caller's write transaction.
"""
from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from peewee import fn

from . import audit
from .errors import Conflict, Invalid
from .db import write_transaction
from .models import PAYMENT_METHODS, Order, Payment, ShiftClose, utcnow
from .reports import Period, to_shop_clock

# The channel of walk-in sales at the counter: paid in full, such a sale is handed over at once.
COUNTER_CHANNEL = "store"


@dataclass(frozen=True)
class PaymentRequest:
    method: str
    amount_cents: int
    tendered_cents: int | None = None

    @property
    def change_cents(self) -> int:
        return (self.tendered_cents - self.amount_cents) if self.tendered_cents is not None else 0

    def as_data(self) -> list:
        """Plain data (it may travel to the order writer over a socket)."""
        return [self.method, self.amount_cents, self.tendered_cents]


def _count(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def parse(raw: list, field: str = "payments") -> list[PaymentRequest]:
    """Payments from plain data (dicts, or [method, amount, tendered] lists); checks each on its own."""
    details, found = [], []
    if not isinstance(raw, list) or not raw:
        raise Invalid("Payments must be a list of at least one payment.", [{"field": field, "message": "expected a non-empty list"}])
    if len(raw) > 20:
        raise Invalid("At most 20 payments at once.", [{"field": field, "message": "at most 20"}])
    for i, item in enumerate(raw):
        if isinstance(item, dict):
            method, amount, tendered = item.get("method"), item.get("amount_cents"), item.get("tendered_cents")
        elif isinstance(item, (list, tuple)) and len(item) == 3:
            method, amount, tendered = item
        else:
            details.append({"field": f"{field}[{i}]", "message": "expected an object"})
            continue
        where = f"{field}[{i}]"
        if method not in PAYMENT_METHODS:
            details.append({"field": f"{where}.method", "message": f"must be one of {', '.join(PAYMENT_METHODS)}"})
        if not _count(amount) or amount <= 0:
            details.append({"field": f"{where}.amount_cents", "message": "must be a whole number above zero"})
        elif tendered is not None:
            if not _count(tendered):
                details.append({"field": f"{where}.tendered_cents", "message": "must be a whole number"})
            elif method == "cash" and tendered < amount:
                details.append({"field": f"{where}.tendered_cents",
                                "message": f"cash tendered ({tendered}) is less than the amount ({amount})"})
            elif method != "cash" and tendered != amount:
                details.append({"field": f"{where}.tendered_cents",
                                "message": f"only cash gives change: a {method} payment takes exactly its amount"})
        found.append(PaymentRequest(method, amount, tendered if method == "cash" else None))
    if details:
        raise Invalid("The payment is not valid.", details)
    return found


def check_against_due(payments: list[PaymentRequest], due_cents: int, field: str = "payments") -> None:
    """A split must add up to exactly what is due; a card (or other) part may not exceed it."""
    details = []
    if due_cents <= 0:
        raise Conflict("Nothing is due on this order: it is paid already.", [{"field": field, "due_cents": due_cents}])
    for i, p in enumerate(payments):
        if p.method != "cash" and p.amount_cents > due_cents:
            details.append({"field": f"{field}[{i}].amount_cents",
                            "message": f"a {p.method} payment cannot exceed the {due_cents} due (no change from a {p.method})"})
    total = sum(p.amount_cents for p in payments)
    if not details and total != due_cents:
        details.append({"field": field, "message": f"the payments add up to {total}, the order's due is {due_cents}",
                        "paid_cents": total, "due_cents": due_cents})
    if details:
        raise Invalid("The payments do not match what is due.", details)


def fingerprint(payments: list[PaymentRequest]) -> str:
    return hashlib.sha256(json.dumps([p.as_data() for p in payments]).encode()).hexdigest()


def replayed(key: str, request_hash: str, order: Order) -> list[Payment] | None:
    """The payments an earlier request with this Idempotency-Key made, or None if there was none."""
    rows = list(Payment.select().where(Payment.idempotency_key == key).order_by(Payment.id))
    if not rows:
        return None
    if rows[0].order_id != order.id or rows[0].request_hash != request_hash:
        raise Conflict("This Idempotency-Key was already used with a different request.",
                       [{"idempotency_key": key, "order": rows[0].order.number}])
    return rows


def record(order: Order, payments: list[PaymentRequest], actor: str, *, key: str | None = None,
           request_hash: str | None = None) -> list[Payment]:
    now = utcnow()
    rows = [Payment.create(order=order, kind="payment", method=p.method, amount_cents=p.amount_cents,
                           tendered_cents=p.tendered_cents, change_cents=p.change_cents, idempotency_key=key,
                           request_hash=request_hash, actor=actor, at=now) for p in payments]
    audit.record(actor, "order.pay", "order", order.number, after={
        "payments": [{"method": p.method, "amount_cents": p.amount_cents, "tendered_cents": p.tendered_cents,
                      "change_cents": p.change_cents} for p in payments]})
    return rows


def refund(order: Order, amount_cents: int, method: str, reason: str | None, actor: str) -> Payment:
    """Gives back money; refused when more than was paid and not yet refunded."""
    if method not in PAYMENT_METHODS:
        raise Invalid("The refund method is not known.", [{"field": "refund_method", "message": f"must be one of {', '.join(PAYMENT_METHODS)}"}])
    if not _count(amount_cents) or amount_cents <= 0:
        raise Invalid("The refund must be a whole number above zero.", [{"field": "refund_cents", "message": "must be above zero"}])
    totals = totals_of(order.id)
    refundable = totals["paid_cents"] - totals["refunded_cents"]
    if amount_cents > refundable:
        raise Invalid(f"The refund ({amount_cents}) is more than was paid and not yet refunded ({refundable}).",
                      [{"field": "refund_cents", "message": f"at most {refundable}", "refundable_cents": refundable}])
    return Payment.create(order=order, kind="refund", method=method, amount_cents=amount_cents, reason=reason,
                          actor=actor, at=utcnow())


def totals_of(order_id: int) -> dict:
    """paid_cents, refunded_cents and change_cents (the change given) of one order."""
    return totals_for([order_id]).get(order_id, {"paid_cents": 0, "refunded_cents": 0, "change_cents": 0})


def totals_for(order_ids: list[int]) -> dict[int, dict]:
    """totals_of for several orders in one query (orders without payments are left out)."""
    found: dict[int, dict] = {}
    if order_ids:
        rows = (Payment.select(Payment.order, Payment.kind, fn.SUM(Payment.amount_cents), fn.SUM(Payment.change_cents))
                .where(Payment.order.in_(order_ids)).group_by(Payment.order, Payment.kind).tuples())
        for order_id, kind, total, change in rows:
            entry = found.setdefault(order_id, {"paid_cents": 0, "refunded_cents": 0, "change_cents": 0})
            entry["paid_cents" if kind == "payment" else "refunded_cents"] += int(total or 0)
            entry["change_cents"] += int(change or 0)
    return found


def payments_of(order_id: int) -> list[dict]:
    return [{"kind": p.kind, "method": p.method, "amount_cents": p.amount_cents, "tendered_cents": p.tendered_cents,
             "change_cents": p.change_cents, "reason": p.reason, "actor": p.actor,
             "at": p.at.isoformat(timespec="seconds") + "Z"}
            for p in Payment.select().where(Payment.order == order_id).order_by(Payment.id)]


def takings(period: Period) -> list[dict]:
    """Per shop day (a reports.Period's days) and method: what was taken, refunded, and the net.

    Few rows a day, so they are read in the period's UTC bounds and given their shop day here, which
    holds across a daylight-saving change."""
    rows = (Payment.select(Payment.at, Payment.kind, Payment.method, Payment.amount_cents)
            .where((Payment.at >= period.start) & (Payment.at < period.stop)).tuples())
    sums: dict[tuple[str, str], dict] = {}
    for at, kind, method, amount in rows:
        day = to_shop_clock(at, period.zone).date().isoformat()
        entry = sums.setdefault((day, method), {"day": day, "method": method, "payments": 0, "taken_cents": 0,
                                                "refunded_cents": 0})
        if kind == "payment":
            entry["payments"] += 1
            entry["taken_cents"] += amount
        else:
            entry["refunded_cents"] += amount
    result = []
    for entry in sorted(sums.values(), key=lambda e: (e["day"], PAYMENT_METHODS.index(e["method"]))):
        entry["net_cents"] = entry["taken_cents"] - entry["refunded_cents"]
        result.append(entry)
    return result



# -- the shift close -----------------------------------------------------------------------------

def close_shift(counted_cash_cents: int, actor: str, *, float_cents: int = 0, note: str | None = None) -> dict:
    """Closes the till's shift: what the payments since the previous close say the drawer holds
    (float + cash taken - cash refunded) against what was counted; the difference is recorded and
    audited. One drawer per box."""
    details = []
    for name, value in (("counted_cash_cents", counted_cash_cents), ("float_cents", float_cents)):
        if not _count(value) or value < 0:
            details.append({"field": name, "message": "must be a whole number, zero or more"})
    if details:
        raise Invalid("The shift close is not valid.", details)
    with write_transaction():
        now = utcnow()
        opened_at, net = running_shift(now)
        expected = float_cents + net["cash"]
        close = ShiftClose.create(opened_at=opened_at, closed_at=now, closed_by=actor, float_cents=float_cents,
                                  cash_cents=net["cash"], card_cents=net["card"], other_cents=net["other"],
                                  expected_cash_cents=expected, counted_cash_cents=counted_cash_cents,
                                  difference_cents=counted_cash_cents - expected, note=note)
        data = shift_dict(close)
        audit.record(actor, "shift.close", "shift", close.id, after={k: v for k, v in data.items() if k != "id"})
    return data


def running_shift(now) -> tuple[datetime | None, dict[str, int]]:
    """The shift open at `now`: when it began (the previous close; None before the first) and the net
    takings per method since then (payments less refunds), as the close will count them."""
    previous = ShiftClose.select().order_by(ShiftClose.id.desc()).first()
    opened_at = previous.closed_at if previous else None
    query = Payment.select(Payment.kind, Payment.method, fn.SUM(Payment.amount_cents)).where(Payment.at <= now)
    if opened_at is not None:
        query = query.where(Payment.at > opened_at)
    net = {method: 0 for method in PAYMENT_METHODS}
    for kind, method, total in query.group_by(Payment.kind, Payment.method).tuples():
        net[method] += int(total or 0) * (1 if kind == "payment" else -1)
    return opened_at, net


def shift_dict(close: ShiftClose) -> dict:
    def iso(value):
        return value.isoformat(timespec="seconds") + "Z" if value else None
    return {"id": close.id, "opened_at": iso(close.opened_at), "closed_at": iso(close.closed_at),
            "closed_by": close.closed_by, "float_cents": close.float_cents,
            "takings": {"cash": close.cash_cents, "card": close.card_cents, "other": close.other_cents},
            "expected_cash_cents": close.expected_cash_cents, "counted_cash_cents": close.counted_cash_cents,
            "difference_cents": close.difference_cents, "note": close.note}


def shift_closes(limit: int = 50) -> list[dict]:
    return [shift_dict(c) for c in ShiftClose.select().order_by(ShiftClose.id.desc()).limit(limit)]


def forget_old_keys(before) -> int:
    """Payments keep their Idempotency-Key as long as orders keep theirs (orders.idempotency_key_days)."""
    return (Payment.update(idempotency_key=None, request_hash=None)
            .where(Payment.idempotency_key.is_null(False) & (Payment.at < before)).execute())
