"""What the order writer's group-commit tests hand the writer: one product's stock, and jobs that
each create one order for it."""
from appliance import inventory, orders
from appliance.order_writer import Job


def stock(qty: int) -> None:
    inventory.create_product({"sku": "TEA", "name": "Tea", "price_cents": 100}, "t")
    inventory.receive("TEA", qty, "t")


def order_job(settings, qty: int) -> Job:
    return Job(lambda: orders.create_order(settings, channel="store", actor="t",
                                            lines=[orders.LineRequest("TEA", qty)])[0].number)
