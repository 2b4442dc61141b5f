"""Replenishment: products at or below their reorder point, with a suggested quantity from sales velocity."""
from __future__ import annotations

import math
from datetime import timedelta

from peewee import fn

from .config import Settings
from .inventory import available_by_product
from .models import Order, OrderLine, Product, utcnow


def sales_velocity(product_ids: list[int], days: int) -> dict[int, float]:
    """Units sold per day over the last `days` (cancelled orders do not count)."""
    since = utcnow() - timedelta(days=days)
    rows = (OrderLine.select(OrderLine.product, fn.SUM(OrderLine.qty)).join(Order)
            .where(OrderLine.product.in_(product_ids) & (Order.created_at >= since)
                   & Order.status.not_in(("cancelled", "returned")))
            .group_by(OrderLine.product).tuples())
    return {pid: int(total) / days for pid, total in rows}


def suggestions(settings: Settings) -> list[dict]:
    products = list(Product.select().where(Product.active).order_by(Product.sku))
    available = available_by_product(p.id for p in products)
    low = [p for p in products if available[p.id] <= p.reorder_point]
    if not low:
        return []
    r = settings.replenishment
    velocity = sales_velocity([p.id for p in low], r.velocity_days)
    result = []
    for p in low:
        per_day = velocity.get(p.id, 0.0)
        # Enough to get back above the reorder point and cover `cover_days` of sales.
        needed = p.reorder_point - available[p.id] + math.ceil(per_day * r.cover_days)
        result.append({"sku": p.sku, "name": p.name, "available": available[p.id], "reorder_point": p.reorder_point,
                       "per_day": round(per_day, 2), "suggested_qty": max(needed, p.reorder_qty, 1)})
    return result
