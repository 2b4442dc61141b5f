"""On PostgreSQL, orders naming the same products in opposite order, and orders that create new
customers, run concurrently without deadlock errors: every writer takes the same lock first."""
import threading

from appliance import inventory, orders
from appliance.db import database
from tests.conftest import on_both_engines

database_url = on_both_engines()


def test_concurrent_orders_in_opposite_line_order_all_succeed(settings, db):
    for sku in ("A", "B"):
        inventory.create_product({"sku": sku, "name": sku, "price_cents": 100}, "t")
        inventory.receive(sku, 1000, "t")
    errors, created = [], []

    def worker(n: int) -> None:
        lines = [orders.LineRequest("A", 1), orders.LineRequest("B", 1)]
        if n % 2:
            lines.reverse()
        try:
            with database.connection_context():
                for i in range(15):
                    customer = {"name": f"C{n}-{i}", "phone": f"{n:02d}{i:04d}"} if i % 3 == 0 else None
                    order, _ = orders.create_order(settings, channel="phone", lines=lines, actor="t", customer=customer)
                    created.append(order.number)
        except Exception as e:  # any deadlock or serialisation error fails the test
            errors.append(repr(e))

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert errors == []
    assert len(set(created)) == 90
    assert inventory.stock_summary(inventory.product_by_sku("A"))["reserved"] == 90
    assert inventory.ledger_mismatches() == []
