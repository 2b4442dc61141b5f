"""The core's own operations: read-only probes of the order data that runbook check and verify
steps (and IT staff) use to prove a restored box is whole."""
from __future__ import annotations

from . import audit
from .db import database
from .models import Order, StockLevel
from .operations import Context, Operation, Outcome, register


def _audit_chain(ctx: Context) -> dict:
    report = audit.verify()
    return {"state": "ok" if report.ok else "broken", "events": report.checked, "reason": report.reason}


def _order_data(ctx: Context) -> dict:
    """What a person checks first on a restored box: the database answers, how many orders, the
    newest order number, and that no stock level is reserved beyond what is on hand."""
    newest = Order.select(Order.number).order_by(Order.id.desc()).first()
    oversold = StockLevel.select().where(StockLevel.reserved > StockLevel.on_hand).count()
    return {"state": "ok" if oversold == 0 else "broken", "engine": type(database.obj).__name__,
            "orders": Order.select().count(), "newest_order": newest.number if newest else None,
            "oversold_levels": oversold}


def _said(result: dict) -> Outcome:
    return Outcome("ok" if result["state"] == "ok" else "failed",
                   ", ".join(f"{k}={v}" for k, v in result.items() if v not in (None, "")))


AUDIT_CHAIN = register(Operation(
    "audit.verify", "Check the audit chain", "manager", _audit_chain, read_only=True, background=False, record=_said,
    help="Walks the hash chain; names the first edited or deleted event."))
ORDER_DATA = register(Operation(
    "orders.inspect", "Look at the order data", "manager", _order_data, read_only=True, background=False,
    record=_said, help="Orders, the newest order number, and stock reserved beyond what is on hand."))
