"""The order writer's group commit (appliance.order_writer), on both engines: the orders of a group
share one transaction; an order that fails is rolled back alone; the writer's thread runs what many
threads hand it, each getting its own answer. (A failed COMMIT: test_a_failed_group_commit_writes_nothing.)"""
import threading

from appliance import audit, inventory, orders
from appliance.errors import InsufficientStock
from appliance.models import Order
from appliance.order_writer import GroupCommit, write_group
from tests.conftest import on_both_engines

from .order_jobs import order_job, stock

database_url = on_both_engines()


def test_an_order_lacking_stock_is_rolled_back_alone(settings, db):
    stock(5)
    group = [order_job(settings, 2), order_job(settings, 9), order_job(settings, 3)]

    write_group(group)

    assert group[0].error is None and group[2].error is None
    assert isinstance(group[1].error, InsufficientStock)
    assert sorted(Order.select(Order.number).tuples()) == sorted([(group[0].result,), (group[2].result,)])
    assert inventory.stock_summary(inventory.product_by_sku("TEA"))["available"] == 0
    assert inventory.ledger_mismatches() == []
    assert audit.verify().ok


def test_many_threads_each_get_their_own_order_from_the_writer_thread(settings, db):
    stock(100)
    writer = GroupCommit()
    numbers: dict[int, str] = {}
    refused: list[int] = []

    def client(n: int) -> None:
        try:
            numbers[n] = writer.run(lambda: orders.create_order(settings, channel="api", actor=f"c{n}",
                                                                lines=[orders.LineRequest("TEA", 12)])[0].number)
        except InsufficientStock:
            refused.append(n)

    threads = [threading.Thread(target=client, args=(n,)) for n in range(12)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    writer.stop()

    assert len(numbers) == 8 and len(refused) == 4  # 8 x 12 = 96 of 100
    created = {o.number: o.created_by for o in Order.select()}
    assert {number: f"c{n}" for n, number in numbers.items()} == created
    assert inventory.ledger_mismatches() == []
