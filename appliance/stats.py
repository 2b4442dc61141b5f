"""Business counts: what a backup manifest records and a restore is compared against."""
from __future__ import annotations

from peewee import fn

from .models import AuditHead, Order, OrderLine, Product, StockLevel


def business_counts() -> dict:
    """Counts that must be identical before a backup and after its restore."""
    stock = StockLevel.select(
        fn.COALESCE(fn.SUM(StockLevel.on_hand), 0).alias("on_hand"),
        fn.COALESCE(fn.SUM(StockLevel.reserved), 0).alias("reserved"),
    ).dicts().get()
    last = Order.select(Order.number).order_by(Order.id.desc()).first()
    head = AuditHead.get_or_none(AuditHead.id == 1)
    return {
        "orders": Order.select().count(),
        "order_lines": OrderLine.select().count(),
        "products": Product.select().count(),
        "stock_on_hand": int(stock["on_hand"]),
        "stock_reserved": int(stock["reserved"]),
        "last_order_number": last.number if last else None,
        "last_audit_hash": head.last_hash if head else None,
    }
