"""A COMMIT that fails (here: SQLite's deferred foreign keys, checked at COMMIT) fails every order of
the order writer's group, and none of them is written: nobody is told "saved" for a lost order."""
from appliance import inventory
from appliance.db import database
from appliance.models import Order
from appliance.order_writer import Job, write_group

from .order_jobs import order_job, stock


def test_a_failed_commit_fails_every_order_of_the_group_and_writes_none(settings, db):
    stock(5)

    def breaks_the_commit():
        database.execute_sql("PRAGMA defer_foreign_keys = ON")
        database.execute_sql("INSERT INTO order_line (order_id, product_id, qty, unit_price_cents, line_total_cents) "
                             "VALUES (999999, 999999, 1, 1, 1)")  # checked at COMMIT, which then fails
    group = [order_job(settings, 2), Job(breaks_the_commit), order_job(settings, 1)]

    write_group(group)

    assert all(job.error is not None and "FOREIGN KEY" in str(job.error) for job in group)
    assert Order.select().count() == 0
    assert inventory.stock_summary(inventory.product_by_sku("TEA"))["available"] == 5
