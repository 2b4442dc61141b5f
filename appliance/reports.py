"""Report queries for the web and API: sales by day/product/channel, processing time, overdue rate.

Times are stored in UTC; report days are the shop's days (`shop.timezone`): a `Period` is a run of
local days, and its bounds are the UTC instants of their midnights (a day with a daylight-saving
change is 23 or 25 hours long). Sales count orders that were not cancelled or returned.
"""
from __future__ import annotations

import statistics
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone
from typing import Iterator
from zoneinfo import ZoneInfo

from peewee import JOIN, SQL, fn

from .categories import Category, ProductCategory
from .config import Settings
from .db import is_postgres
from .models import Location, Order, OrderEvent, OrderLine, Product, StockLevel, StockMovement, utcnow

SOLD = ("confirmed", "shipped", "delivered")  # pending orders are not sales yet


def shop_zone(settings: Settings) -> ZoneInfo:
    return ZoneInfo(settings.shop.timezone)


def to_shop_clock(stored: datetime, zone: ZoneInfo) -> datetime:
    """A stored time (naive UTC, or aware) as the shop's clock shows it."""
    return (stored if stored.tzinfo else stored.replace(tzinfo=timezone.utc)).astimezone(zone)


def from_shop_clock(local: datetime, zone: ZoneInfo) -> datetime:
    """A time on the shop's clock (unless it carries its own offset) as stored: naive UTC."""
    return (local if local.tzinfo else local.replace(tzinfo=zone)).astimezone(timezone.utc).replace(tzinfo=None)


def midnight_utc(zone: ZoneInfo, day: date) -> datetime:
    """The UTC instant (naive, as stored) at which `day` begins in the shop."""
    return from_shop_clock(datetime.combine(day, time()), zone)


def shop_today(zone: ZoneInfo, now: datetime | None = None) -> date:
    """The shop's date at `now` (naive UTC; default: now)."""
    return to_shop_clock(now or utcnow(), zone).date()


@dataclass(frozen=True)
class Period:
    """Local days `first` up to `end` (exclusive) in the shop's zone."""
    first: date
    end: date
    zone: ZoneInfo

    @property
    def start(self) -> datetime:
        return midnight_utc(self.zone, self.first)

    @property
    def stop(self) -> datetime:
        return midnight_utc(self.zone, self.end)

    def days(self) -> Iterator["Period"]:
        day = self.first
        while day < self.end:
            yield Period(day, day + timedelta(days=1), self.zone)
            day += timedelta(days=1)


def _in_period(start: datetime, end: datetime):
    # The status test goes through LOWER() so that no engine answers it with the status index: that
    # index (chosen by SQLite without statistics) scans every sale ever made, where the created_at
    # range reads just the period's (a day on a 1 GB database: 0.5 s before, milliseconds after).
    return (Order.created_at >= start) & (Order.created_at < end) & fn.LOWER(Order.status).in_(SOLD)


def sales_by_day(period: Period, channel: str | None = None) -> list[dict]:
    """One row per local day. A stretch of days with one UTC offset is one grouped query (its orders'
    times shifted by that offset); a day when the clocks change is a query of its own, by its exact
    bounds. So a two-year report is a handful of queries, in every zone."""
    found: dict[str, tuple] = {}
    for part in _constant_offset_parts(period):
        sales = [fn.COUNT(Order.id), fn.SUM(Order.total_cents)]
        if part.offset is None:
            query = Order.select(*sales).where(_in_period(part.start, part.stop))
            keyed = [(part.first.isoformat(), *query.where(*_channel(channel)).scalar(as_tuple=True))]
        else:
            day = _local_date(part.offset)
            query = (Order.select(day, *sales).where(_in_period(part.start, part.stop), *_channel(channel))
                     .group_by(day).tuples())
            keyed = [(str(d), n, total) for d, n, total in query]
        found.update((d, (n, total)) for d, n, total in keyed)
    days = []
    for d in period.days():
        orders, total = found.get(d.first.isoformat(), (0, 0))
        days.append({"day": d.first.isoformat(), "orders": int(orders or 0), "total_cents": int(total or 0)})
    return days


@dataclass(frozen=True)
class _Part(Period):
    offset: timedelta | None = None  # the UTC offset of every instant in it; None: the clocks change


def _constant_offset_parts(period: Period) -> list[_Part]:
    parts: list[_Part] = []
    for day in period.days():
        begins, ends = (datetime.combine(d, time(), period.zone).utcoffset() for d in (day.first, day.end))
        offset = begins if begins == ends else None
        last = parts[-1] if parts else None
        if offset is not None and last is not None and last.offset == offset:
            parts[-1] = _Part(last.first, day.end, period.zone, offset)
        else:
            parts.append(_Part(day.first, day.end, period.zone, offset))
    return parts


def _local_date(offset: timedelta):
    """The shop's date of Order.created_at, for orders in a stretch with this UTC offset."""
    minutes = int(offset.total_seconds() // 60)  # from zoneinfo, never user text
    if is_postgres():
        return fn.DATE(Order.created_at + SQL(f"interval '{minutes} minutes'")).coerce(False)
    return fn.DATE(Order.created_at, f"{minutes:+d} minutes").coerce(False)


def _channel(channel: str | None) -> list:
    return [Order.channel == channel] if channel else []


def sales_by_channel(start: datetime, end: datetime) -> list[dict]:
    rows = (Order.select(Order.channel, fn.COUNT(Order.id).alias("orders"), fn.SUM(Order.total_cents).alias("total_cents"))
            .where(_in_period(start, end)).group_by(Order.channel).order_by(Order.channel).dicts())
    return [{"channel": r["channel"], "orders": int(r["orders"]), "total_cents": int(r["total_cents"] or 0)} for r in rows]


def sales_by_product(start: datetime, end: datetime, limit: int = 50) -> list[dict]:
    revenue = fn.SUM(OrderLine.line_total_cents)
    rows = (OrderLine.select(Product.sku, Product.name, fn.SUM(OrderLine.qty).alias("qty"), revenue.alias("total_cents"))
            .join(Order).switch(OrderLine).join(Product)
            .where(_in_period(start, end)).group_by(Product.sku, Product.name)
            .order_by(revenue.desc(), Product.sku).limit(limit).dicts())
    return [{"sku": r["sku"], "name": r["name"], "qty": int(r["qty"]), "total_cents": int(r["total_cents"])} for r in rows]


def processing_time(start: datetime, end: datetime) -> dict:
    """Hours from confirmation to shipment for orders shipped in the period."""
    rows = (Order.select(Order.confirmed_at, Order.shipped_at)
            .where((Order.shipped_at >= start) & (Order.shipped_at < end) & Order.confirmed_at.is_null(False)).tuples())
    hours = sorted((shipped - confirmed).total_seconds() / 3600 for confirmed, shipped in rows)
    if not hours:
        return {"orders": 0, "mean_hours": None, "p50_hours": None, "p90_hours": None}
    return {"orders": len(hours), "mean_hours": round(statistics.fmean(hours), 2),
            "p50_hours": round(_percentile(hours, 50), 2), "p90_hours": round(_percentile(hours, 90), 2)}


def _percentile(sorted_values: list[float], pct: float) -> float:
    index = min(len(sorted_values) - 1, max(0, round(pct / 100 * (len(sorted_values) - 1))))
    return sorted_values[index]


def overdue_rate(settings: Settings, start: datetime, end: datetime) -> dict:
    """Of the orders confirmed in the period, how many shipped late or are still unshipped past the limit."""
    limit = timedelta(hours=settings.orders.overdue_after_hours)
    now = utcnow()
    rows = (Order.select(Order.confirmed_at, Order.shipped_at, Order.cancelled_at, Order.delivered_at)
            .where((Order.confirmed_at >= start) & (Order.confirmed_at < end)).tuples())
    considered = late = 0
    for confirmed, shipped, cancelled, delivered in rows:
        # A counter sale is handed over (delivered) without being shipped: that ends it as shipping would.
        shipped = shipped or delivered
        deadline = confirmed + limit
        if cancelled and cancelled <= deadline and not shipped:
            continue  # cancelled in time: neither late nor on time
        if shipped is None and deadline > now:
            continue  # still within its time
        considered += 1
        if (shipped or now) > deadline:
            late += 1
    return {"orders": considered, "overdue": late, "rate": round(late / considered, 4) if considered else None}


# -- reports for any range of the shop's days (the back office) ---------------------------------

def period_of_days(first: date, last: date, zone: ZoneInfo) -> Period:
    """The shop's days `first` to `last`, both included."""
    return Period(first, last + timedelta(days=1), zone)


def sales_by_employee(start: datetime, end: datetime) -> list[dict]:
    """Per person: the sales they took in the period (orders, total), and the orders they shipped in it
    with the average hours from the order's confirmation to their shipping it."""
    people: dict[str, dict] = {}

    def row(name: str) -> dict:
        return people.setdefault(name, {"employee": name, "orders": 0, "total_cents": 0, "shipped": 0,
                                        "mean_hours_to_ship": None, "_hours": []})

    taken = (Order.select(Order.created_by, fn.COUNT(Order.id), fn.SUM(Order.total_cents))
             .where(_in_period(start, end)).group_by(Order.created_by).tuples())
    for name, orders, total in taken:
        row(name).update(orders=int(orders), total_cents=int(total or 0))
    shipped = (OrderEvent.select(OrderEvent.actor, Order.confirmed_at, OrderEvent.at).join(Order)
               .where((OrderEvent.to_status == "shipped") & (OrderEvent.from_status != "shipped")
                      & (OrderEvent.at >= start) & (OrderEvent.at < end)).tuples())
    for name, confirmed, at in shipped:
        mine = row(name)
        mine["shipped"] += 1
        if confirmed is not None:
            mine["_hours"].append((at - confirmed).total_seconds() / 3600)
    rows = []
    for name in sorted(people):
        mine = people[name]
        hours = mine.pop("_hours")
        mine["mean_hours_to_ship"] = round(statistics.fmean(hours), 2) if hours else None
        rows.append(mine)
    return rows


def inventory_value() -> list[dict]:
    """Per product with stock: on hand (all locations) × its cost, now, with the product's category."""
    on_hand = fn.SUM(StockLevel.on_hand)
    rows = (Product.select(Product.sku, Product.name, Category.name.alias("category"), Product.cost_cents,
                           on_hand.alias("on_hand"))
            .join(StockLevel).switch(Product)
            .join(ProductCategory, JOIN.LEFT_OUTER, on=(ProductCategory.product == Product.id))
            .join(Category, JOIN.LEFT_OUTER)
            .group_by(Product.id, Product.sku, Product.name, Category.name, Product.cost_cents)
            .having(on_hand != 0).order_by(Product.sku).dicts())
    return [{"sku": r["sku"], "name": r["name"], "category": r["category"], "on_hand": int(r["on_hand"]),
             "cost_cents": r["cost_cents"], "value_cents": int(r["on_hand"]) * r["cost_cents"]} for r in rows]


NO_CATEGORY = "(no category)"


def sales_by_category(start: datetime, end: datetime) -> list[dict]:
    """Sales per product category (the category each product is in now); products in none together."""
    revenue = fn.SUM(OrderLine.line_total_cents)
    rows = (OrderLine.select(Category.name.alias("category"), fn.COUNT(fn.DISTINCT(Order.id)).alias("orders"),
                             fn.SUM(OrderLine.qty).alias("qty"), revenue.alias("total_cents"))
            .join(Order).switch(OrderLine)
            .join(ProductCategory, JOIN.LEFT_OUTER, on=(ProductCategory.product == OrderLine.product))
            .join(Category, JOIN.LEFT_OUTER)
            .where(_in_period(start, end)).group_by(Category.name).dicts())
    found = [{"category": r["category"] or NO_CATEGORY, "orders": int(r["orders"]), "qty": int(r["qty"]),
              "total_cents": int(r["total_cents"])} for r in rows]
    return sorted(found, key=lambda r: (-r["total_cents"], r["category"]))


def stock_history(product_id: int, start: datetime, end: datetime) -> list[dict]:
    """The product's stock ledger between two instants, oldest first, each movement with the units on
    hand (all locations) after it; the balance starts from every movement before `start`."""
    (before,) = (StockMovement.select(fn.COALESCE(fn.SUM(StockMovement.on_hand_delta), 0))
                 .where((StockMovement.product == product_id) & (StockMovement.created_at < start)).scalar(as_tuple=True))
    line_order = OrderLine.alias()
    rows = (StockMovement.select(StockMovement.created_at, Location.code, StockMovement.kind, StockMovement.on_hand_delta,
                                 StockMovement.reserved_delta, Order.number, StockMovement.reference, StockMovement.actor)
            .join(Location).switch(StockMovement)
            .join(line_order, JOIN.LEFT_OUTER, on=(StockMovement.order_line == line_order.id))
            .join(Order, JOIN.LEFT_OUTER, on=(line_order.order == Order.id))
            .where((StockMovement.product == product_id) & (StockMovement.created_at >= start)
                   & (StockMovement.created_at < end))
            .order_by(StockMovement.id).tuples())
    on_hand = int(before or 0)
    history = []
    for at, location, kind, on_hand_delta, reserved_delta, order, reference, actor in rows:
        on_hand += on_hand_delta
        history.append({"at": at, "location": location, "kind": kind, "on_hand_delta": on_hand_delta,
                        "reserved_delta": reserved_delta, "order": order,
                        "reference": None if reference == order else reference, "actor": actor,
                        "on_hand": on_hand})
    return history
