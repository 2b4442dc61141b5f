"""What the counter offers without typing: a favourites grid for touch screens and "often bought with".

- Favourites: the products a manager pinned (in the order pinned), then the products most sold at the
  counter (channel `store`) over the last FAVOURITE_DAYS, up to FAVOURITES in all, for sale only.
- Often bought with: products that were on the same orders as the lines on screen, over the last
  TOGETHER_DAYS. Shown only when there is enough history to mean something: a product on screen must
  have been sold on at least MIN_ORDERS_OF_A_LINE orders, and a suggestion must have been bought with
  one of them on at least MIN_ORDERS_TOGETHER orders (one or two shared orders are chance, and would
  suggest whatever the last customer happened to buy).
Each answer is a fixed number of statements, whatever the shop's history or the lines on screen.
"""
from __future__ import annotations

from datetime import datetime, timedelta

from peewee import fn

from . import audit
from .counter_tables import PinnedFavourite
from .db import write_transaction
from .inventory import available_by_product, product_by_sku
from .models import Order, OrderLine, Product, utcnow

FAVOURITES = 12
FAVOURITE_DAYS = 30
TOGETHER_DAYS = 90
MIN_ORDERS_OF_A_LINE = 10
MIN_ORDERS_TOGETHER = 3
SUGGESTIONS = 4
COUNTER_CHANNEL = "store"
COUNTED = ("confirmed", "shipped", "delivered", "returned")  # sold (a pending or cancelled order was not)


def favourites(now: datetime) -> list[dict]:
    """The grid: pinned products first, then the counter's best sellers of the last FAVOURITE_DAYS."""
    pinned = [row.product_id for row in PinnedFavourite.select(PinnedFavourite.product)
              .join(Product).where(Product.active == True)  # noqa: E712 (SQL)
              .order_by(PinnedFavourite.pinned_at, PinnedFavourite.id).limit(FAVOURITES)]
    sold = (OrderLine.select(OrderLine.product, fn.SUM(OrderLine.qty).alias("sold"))
            .join(Order).switch(OrderLine).join(Product)
            .where((Order.channel == COUNTER_CHANNEL) & Order.status.in_(COUNTED) & Product.active
                   & (Order.created_at >= now - timedelta(days=FAVOURITE_DAYS)))
            .group_by(OrderLine.product).order_by(fn.SUM(OrderLine.qty).desc(), OrderLine.product)
            .limit(FAVOURITES * 2).tuples())
    chosen = pinned + [product_id for product_id, _ in sold if product_id not in pinned]
    return _described(chosen[:FAVOURITES], set(pinned))


def often_bought_with(skus: list[str], now: datetime) -> list[dict]:
    """Products bought together with these SKUs, most often first; [] while the history is too thin."""
    skus = [sku for sku in dict.fromkeys(skus) if isinstance(sku, str)][:50]
    if not skus:
        return []
    since = now - timedelta(days=TOGETHER_DAYS)
    sold = (Order.created_at >= since) & Order.status.in_(COUNTED)
    on_screen = Product.select(Product.id).where(Product.sku.in_(skus))
    # Products on screen with enough orders of their own to tell a habit from chance.
    known = (OrderLine.select(OrderLine.product).join(Order).where(sold & OrderLine.product.in_(on_screen))
             .group_by(OrderLine.product).having(fn.COUNT(fn.DISTINCT(OrderLine.order)) >= MIN_ORDERS_OF_A_LINE))
    their_orders = OrderLine.select(OrderLine.order).where(OrderLine.product.in_(known))
    Other = OrderLine.alias()
    together = (Other.select(Other.product, fn.COUNT(fn.DISTINCT(Other.order)).alias("orders"))
                .join(Order, on=(Other.order == Order.id)).switch(Other).join(Product, on=(Other.product == Product.id))
                .where(Other.order.in_(their_orders) & sold & Other.product.not_in(on_screen) & Product.active)
                .group_by(Other.product).having(fn.COUNT(fn.DISTINCT(Other.order)) >= MIN_ORDERS_TOGETHER)
                .order_by(fn.COUNT(fn.DISTINCT(Other.order)).desc(), Other.product).limit(SUGGESTIONS).tuples())
    return _described([product_id for product_id, _ in together], set())


def _described(product_ids: list[int], pinned: set[int]) -> list[dict]:
    """The products as the counter shows them (two statements, whatever their number)."""
    if not product_ids:
        return []
    products = {p.id: p for p in Product.select().where(Product.id.in_(product_ids))}
    available = available_by_product(product_ids)
    return [{"sku": products[i].sku, "name": products[i].name, "price_cents": products[i].price_cents,
             "available": available[i], "pinned": i in pinned} for i in product_ids if i in products]


def pin(sku: str, pinned: bool, actor: str) -> None:
    """Pins a product to the counter's favourites (or takes it off), audited."""
    with write_transaction():
        product = product_by_sku(sku)
        if pinned:
            PinnedFavourite.insert(product=product, pinned_by=actor, pinned_at=utcnow()).on_conflict_ignore().execute()
        else:
            PinnedFavourite.delete().where(PinnedFavourite.product == product).execute()
        audit.record(actor, "counter.pin" if pinned else "counter.unpin", "product", sku, after={"pinned": pinned})
