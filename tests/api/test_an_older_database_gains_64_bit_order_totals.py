"""A version-5 database (order totals 32-bit on PostgreSQL) is brought up to date by `migrate`: its
order and line totals become 64-bit, keep their values, and an order for the most of one product at
the highest price is then stored (appliance/limits.py)."""
from appliance import inventory, orders
from appliance.db import database, is_postgres
from appliance.limits import MAX_LINE_QTY, MAX_PRICE_CENTS
from appliance.models import KeyValue, Order
from appliance.schema import migrate


def column_type(table: str, column: str) -> str:
    return database.execute_sql("SELECT data_type FROM information_schema.columns WHERE table_name = %s "
                                "AND column_name = %s", (table, column)).fetchone()[0]


def test_a_version_5_database_stores_order_totals_in_64_bits(settings, db):
    inventory.create_product({"sku": "TEA", "name": "Tea", "price_cents": 350}, "test")
    inventory.receive("TEA", 5, "test")
    before, _ = orders.create_order(settings, channel="store", lines=[orders.LineRequest("TEA", 2)], actor="test")
    if is_postgres():  # as schema v5 made them
        database.execute_sql("ALTER TABLE orders ALTER COLUMN total_cents TYPE INTEGER")
        database.execute_sql("ALTER TABLE order_line ALTER COLUMN line_total_cents TYPE INTEGER")
    KeyValue.put("schema_version", "5")

    migrate()
    if is_postgres():  # SQLite's INTEGER is 64-bit already
        assert column_type("orders", "total_cents") == column_type("order_line", "line_total_cents") == "bigint"
    assert Order.get_by_id(before.id).total_cents == 700
    inventory.create_product({"sku": "GOLD", "name": "Gold", "price_cents": MAX_PRICE_CENTS}, "test")
    inventory.receive("GOLD", MAX_LINE_QTY, "test")
    big, _ = orders.create_order(settings, channel="api", lines=[orders.LineRequest("GOLD", MAX_LINE_QTY)], actor="test")
    assert Order.get_by_id(big.id).total_cents == MAX_LINE_QTY * MAX_PRICE_CENTS
