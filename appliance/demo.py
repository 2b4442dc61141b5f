"""Demo data for `appliance init --demo`: a small grocery with a month of orders.

Everything goes through the domain functions (so the ledger and audit chain are real); only the
creation times are moved into the past afterwards so reports have a history to show.
"""
from __future__ import annotations

import random
import secrets
from datetime import timedelta

from . import accounts, customers, inventory, orders
from .config import Settings
from .models import Order, OrderEvent, User, utcnow

ACTOR = "demo"
LOCATIONS = [("backroom", "Back room", 20), ("warehouse", "Warehouse", 30)]
PRODUCTS = [
    ("TEA-EARL", "4006381333931", "Earl Grey tea 100g", 350, 180),
    ("TEA-GREEN", "4006381333948", "Green tea 100g", 420, 210),
    ("TEA-MINT", "4006381333955", "Peppermint tea 50g", 290, 120),
    ("COF-BEAN", "4006381333962", "Coffee beans 500g", 1290, 700),
    ("COF-GRND", "4006381333979", "Ground coffee 250g", 690, 350),
    ("MUG-WHT", "4006381333986", "White mug", 850, 300),
    ("MUG-BLU", "4006381333993", "Blue mug", 850, 300),
    ("HONEY-500", "4006381334006", "Honey 500g", 990, 520),
    ("BISC-OAT", "4006381334013", "Oat biscuits", 320, 140),
    ("BISC-CHOC", "4006381334020", "Chocolate biscuits", 380, 170),
    ("JAM-STRAW", "4006381334037", "Strawberry jam", 450, 210),
    ("FILTER-4", "4006381334044", "Coffee filters no. 4", 240, 90),
    ("KETTLE", "4006381334051", "Stovetop kettle", 3490, 1800),
    ("TEAPOT", "4006381334068", "Glass teapot 1l", 2490, 1200),
    ("SUGAR-1K", "4006381334075", "Cane sugar 1kg", 280, 130),
    ("MILK-OAT", "4006381334082", "Oat drink 1l", 230, 110),
    ("CHOC-DARK", "4006381334099", "Dark chocolate 100g", 260, 120),
    ("GIFT-BOX", "4006381334105", "Gift box", 1990, 900),
]
CUSTOMERS = [
    ("Ada Lovelace", "+4915112345001", "ada@example.org"),
    ("Grace Hopper", "+4915112345002", "grace@example.org"),
    ("Alan Turing", "+4915112345003", "alan@example.org"),
    ("Katherine Johnson", "+4915112345004", "katherine@example.org"),
    ("Edsger Dijkstra", "+4915112345005", None),
    ("Barbara Liskov", "+4915112345006", "barbara@example.org"),
]


def load_demo(settings: Settings, days: int = 30, seed: int = 7) -> dict[str, str]:
    """Adds the demo shop; returns the demo users' passwords (new users only)."""
    rng = random.Random(seed)
    logins = _demo_users()
    if inventory.Product.select().exists():
        return logins  # demo already loaded
    for code, name, pick in LOCATIONS:
        inventory.create_location(code, name, pick, ACTOR)
    for sku, barcode, name, price, cost in PRODUCTS:
        inventory.create_product({"sku": sku, "barcode": barcode, "name": name, "price_cents": price,
                                  "cost_cents": cost, "reorder_point": 5, "reorder_qty": 24}, ACTOR)
        inventory.receive(sku, rng.randint(8, 30), ACTOR, "floor", "opening stock")
        inventory.receive(sku, rng.randint(0, 40), ACTOR, "warehouse", "opening stock")
    people = [customers.create_customer({"name": n, "phone": p, "email": e}, ACTOR) for n, p, e in CUSTOMERS]
    _demo_orders(settings, rng, people, days)
    orders.refresh_usual_quantities(settings)
    return logins


def _demo_users() -> dict[str, str]:
    logins = {}
    for role in ("admin", "manager", "staff"):
        username = f"demo-{role}"
        if not User.select().where(User.username == username).exists():
            password = secrets.token_urlsafe(9)
            accounts.create_user(username, password, role, ACTOR)
            logins[username] = password
    return logins


def _demo_orders(settings: Settings, rng: random.Random, people: list, days: int) -> None:
    now = utcnow()
    skus = [p[0] for p in PRODUCTS if p[0] not in ("KETTLE", "TEAPOT", "GIFT-BOX")]
    for day in range(days, -1, -1):
        for _ in range(rng.randint(1, 4)):
            lines = [orders.LineRequest(sku, rng.randint(1, 2)) for sku in rng.sample(skus, rng.randint(1, 3))]
            channel = rng.choice(("store", "store", "phone", "web"))
            customer = rng.choice(people).id if channel != "store" else None
            try:
                order, _ = orders.create_order(settings, channel=channel, lines=lines, actor=ACTOR, customer=customer)
            except orders.InsufficientStock:
                continue
            created = now - timedelta(days=day, hours=rng.randint(0, 8))
            _backdate(order, created)
            if day > 2 and order.status == "confirmed":
                orders.transition(order.number, "ship", ACTOR, carrier="DHL" if channel != "store" else None,
                                  tracking_number=f"00340{rng.randint(10**9, 10**10)}" if channel != "store" else None)
                if rng.random() < 0.8:
                    orders.transition(order.number, "deliver", ACTOR)
                _backdate_steps(order, created, rng)


def _backdate(order: Order, created) -> None:
    Order.update(created_at=created, confirmed_at=created if order.confirmed_at else None,
                 updated_at=created).where(Order.id == order.id).execute()
    OrderEvent.update(at=created).where(OrderEvent.order == order).execute()


def _backdate_steps(order: Order, created, rng: random.Random) -> None:
    """Moves shipping and delivery into the past, in the order and in its timeline alike."""
    shipped = created + timedelta(hours=rng.randint(2, 40))
    delivered = shipped + timedelta(days=1) if Order.get_by_id(order.id).delivered_at else None
    Order.update(shipped_at=shipped, delivered_at=delivered).where(Order.id == order.id).execute()
    for status, at in (("shipped", shipped), ("delivered", delivered)):
        if at is not None:
            OrderEvent.update(at=at).where((OrderEvent.order == order) & (OrderEvent.to_status == status)).execute()
