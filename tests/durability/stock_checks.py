"""What every no-oversell and durability test checks, in one place."""
from __future__ import annotations

import threading
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from appliance import config, inventory, runtime
from appliance.db import database
from appliance.models import Order, OrderLine, Product, StockLevel


def stock_product(sku: str, qty: int, price_cents: int = 100) -> None:
    inventory.create_product({"sku": sku, "name": f"Product {sku}", "price_cents": price_cents}, "test")
    inventory.receive(sku, qty, "test")


def totals(sku: str) -> dict:
    """on_hand, reserved, available of one SKU over all locations."""
    return inventory.stock_summary(inventory.product_by_sku(sku))


def ordered_quantities() -> dict[str, int]:
    """Sum of line quantities per SKU over all confirmed orders in the database."""
    rows = (OrderLine.select(Product.sku, OrderLine.qty).join(Product).switch(OrderLine).join(Order)
            .where(Order.status == "confirmed").tuples())
    result: dict[str, int] = {}
    for sku, qty in rows:
        result[sku] = result.get(sku, 0) + qty
    return result


def order_lines(number: str) -> list[list]:
    order = Order.get(Order.number == number)
    return sorted([line.product.sku, line.qty] for line in OrderLine.select().where(OrderLine.order == order))


@contextmanager
def box_database(home: Path):
    """The database of a served box, opened in this process (read its truth, not its API)."""
    settings = config.load(Path(home))
    runtime.connect(settings)
    try:
        yield settings
    finally:
        runtime.close()


@dataclass
class AvailabilityWatcher:
    """Samples every stock level from its own connection while orders race; records the minimum."""
    minimum: int | None = None
    samples: int = 0
    invalid: list = field(default_factory=list)
    _stop: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None

    def __enter__(self) -> "AvailabilityWatcher":
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join(10)

    def _run(self) -> None:
        try:
            while not self._stop.is_set():
                for on_hand, reserved in StockLevel.select(StockLevel.on_hand, StockLevel.reserved).tuples():
                    available = on_hand - reserved
                    self.minimum = available if self.minimum is None else min(self.minimum, available)
                    if available < 0 or reserved < 0:
                        self.invalid.append((on_hand, reserved))
                self.samples += 1
                self._stop.wait(0.002)
        finally:
            database.close()


def assert_no_oversell(results: list[dict], initial: dict[str, int]) -> None:
    """results: {"lines": [[sku, qty], ...], "number": str|None, "error": str|None} per attempt.

    Confirmed orders never take more than there was; the levels equal the confirmed quantities and
    the ledger; an order was only refused if one of its lines really could not be served.
    """
    unexpected = [r for r in results if r["number"] is None and r["error"] != "InsufficientStock"]
    assert not unexpected, f"orders failed for another reason than stock: {unexpected[:5]}"
    confirmed: dict[str, int] = {sku: 0 for sku in initial}
    for r in results:
        if r["number"]:
            for sku, qty in r["lines"]:
                confirmed[sku] += qty
    final = {}
    for sku, start in initial.items():
        t = totals(sku)
        final[sku] = t["available"]
        assert confirmed[sku] <= start, f"oversold {sku}: {confirmed[sku]} confirmed of {start}"
        assert t["on_hand"] == start and t["reserved"] == confirmed[sku], (sku, t, confirmed[sku])
        assert t["available"] == start - confirmed[sku] >= 0
    for r in results:
        if r["number"] is None:
            assert any(qty > final[sku] for sku, qty in r["lines"]), \
                f"refused although every line still fits at the end: {r['lines']} (available {final})"
        else:
            assert order_lines(r["number"]) == sorted(r["lines"]), r
    assert ordered_quantities() == {sku: q for sku, q in confirmed.items() if q}
    assert Order.select().count() == sum(1 for r in results if r["number"])
    assert inventory.ledger_mismatches() == []


def ledger_and_levels(reserved: dict[str, int]) -> None:
    """The levels hold exactly `reserved` per SKU, and equal the ledger's sums."""
    for sku, qty in reserved.items():
        assert totals(sku)["reserved"] == qty, (sku, totals(sku), qty)
    assert inventory.ledger_mismatches() == []
