"""A version-4 database (made before payments) is brought up to date by `migrate`: it gains the
payment table, keeps its orders, and a sale can then be paid."""
from appliance import inventory, orders, payments
from appliance.db import database
from appliance.models import KeyValue, Payment
from appliance.schema import SCHEMA_VERSION, current_version, migrate


def test_a_version_4_database_gains_the_payment_table_and_takes_payments(settings, db):
    inventory.create_product({"sku": "TEA", "name": "Tea", "price_cents": 350}, "test")
    inventory.receive("TEA", 5, "test")
    order, _ = orders.create_order(settings, channel="store", lines=[orders.LineRequest("TEA", 1)], actor="test")
    database.drop_tables([Payment])
    KeyValue.put("schema_version", "4")
    assert current_version() == 4 and not Payment.table_exists()

    assert migrate() == SCHEMA_VERSION >= 5
    assert Payment.table_exists()
    data, _ = orders.pay_order(settings, order.number, payments.parse([{"method": "card", "amount_cents": 350}]), "test")
    assert (data["status"], data["paid_cents"]) == ("delivered", 350)
