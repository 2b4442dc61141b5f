"""Replenishment: what to order, from whom, and how much, from sales velocity and the supplier's lead time.

For each active product:
- velocity = units sold per day over the last `replenishment.velocity_days` (28 by default: four whole
  weeks, so every weekday counts equally; cancelled and returned orders do not count);
- position = available (on hand − reserved: reserved stock is sold already) + on order (outstanding on
  open purchase orders);
- lead-time demand = velocity × the supplier's lead time (0 days without a supplier);
- the product is suggested when its position is at or below its reorder point plus the lead-time demand
  (what will sell before an order placed now arrives), i.e. it would fall below the reorder point
  before a delivery, unless what is already on order reaches the target below;
- the suggested quantity brings the position up to reorder point + velocity × (lead time + review
  period), the review period being `replenishment.cover_days` (the days until the next order is
  placed): so the shelf holds the reorder point at least until the delivery after next. It is at least
  the product's reorder quantity (the shop's minimum order) and rounded up to whole packs of the
  supplier's pack size.
With no sales this is the old rule: back up to the reorder point, at least the reorder quantity.
"""
from __future__ import annotations

import math
from datetime import datetime, timedelta

from peewee import fn

from .clock import utcnow
from .config import Settings
from .inventory import available_by_product
from .models import Order, OrderLine, Product
from .purchasing import on_order_by_product
from .suppliers import supplier_for


def sales_velocity(product_ids: list[int], days: int, now: datetime | None = None) -> dict[int, float]:
    """Units sold per day over the `days` before `now` (cancelled and returned orders do not count)."""
    since = (now or utcnow()) - timedelta(days=days)
    rows = (OrderLine.select(OrderLine.product, fn.SUM(OrderLine.qty)).join(Order)
            .where(OrderLine.product.in_(product_ids) & (Order.created_at >= since)
                   & Order.status.not_in(("cancelled", "returned")))
            .group_by(OrderLine.product).tuples())
    return {pid: int(total) / days for pid, total in rows}


def suggested_quantity(*, per_day: float, lead_time_days: int, review_days: int, reorder_point: int,
                       reorder_qty: int, available: int, on_order: int, pack_qty: int = 1) -> int:
    """Units to order (0: none yet). See the module's docstring for the rule."""
    position = available + on_order
    if position > reorder_point + math.ceil(per_day * lead_time_days):
        return 0
    target = reorder_point + math.ceil(per_day * (lead_time_days + review_days))
    if on_order and position >= target:
        return 0  # what is on its way reaches the target: ordering again would order twice
    qty = max(target - position, reorder_qty, 1)
    return math.ceil(qty / pack_qty) * pack_qty


def suggestions(settings: Settings, now: datetime | None = None) -> list[dict]:
    products = list(Product.select().where(Product.active).order_by(Product.sku))
    if not products:
        return []
    ids = [p.id for p in products]
    r = settings.replenishment
    available = available_by_product(ids)
    on_order = on_order_by_product(ids)
    velocity = sales_velocity(ids, r.velocity_days, now)
    offers = supplier_for(ids)
    result = []
    for p in products:
        per_day = velocity.get(p.id, 0.0)
        offer = offers.get(p.id)
        lead = offer.supplier.lead_time_days if offer else 0
        qty = suggested_quantity(per_day=per_day, lead_time_days=lead, review_days=r.cover_days,
                                 reorder_point=p.reorder_point, reorder_qty=p.reorder_qty,
                                 available=available[p.id], on_order=on_order.get(p.id, 0),
                                 pack_qty=offer.pack_qty if offer else 1)
        if not qty:
            continue
        result.append({"sku": p.sku, "name": p.name, "product_id": p.id, "available": available[p.id],
                       "on_order": on_order.get(p.id, 0), "reorder_point": p.reorder_point,
                       "per_day": round(per_day, 2), "suggested_qty": qty,
                       "supplier": offer.supplier.name if offer else None,
                       "supplier_id": offer.supplier_id if offer else None, "lead_time_days": lead,
                       "pack_qty": offer.pack_qty if offer else 1,
                       "unit_cost_cents": offer.cost_cents if offer else p.cost_cents})
    return result
