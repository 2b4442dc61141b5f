"""A database made by an older release is brought up to date by `migrate`, step by step."""
from appliance import inventory, orders
from appliance.db import database
from appliance.models import KeyValue, Product
from appliance.schema import SCHEMA_VERSION, current_version, migrate
from tests.conftest import on_both_engines

database_url = on_both_engines()


def _as_version_1() -> None:
    """What a v1 box has: no product.usual_qty column, schema_version 1."""
    database.execute_sql("ALTER TABLE product DROP COLUMN usual_qty")
    KeyValue.put("schema_version", "1")


def test_a_version_1_database_gains_the_usual_quantity_column(settings, db):
    inventory.create_product({"sku": "TEA", "name": "Tea", "price_cents": 350}, "test")
    _as_version_1()
    assert "usual_qty" not in {c.name for c in database.get_columns("product")}
    assert current_version() == 1

    assert migrate() == SCHEMA_VERSION >= 3
    assert "usual_qty" in {c.name for c in database.get_columns("product")}
    orders.refresh_usual_quantities(settings)
    assert Product.get(Product.sku == "TEA").usual_qty is None  # no history yet


def test_migrating_an_up_to_date_database_changes_nothing(settings, db):
    assert migrate() == SCHEMA_VERSION
    assert migrate() == SCHEMA_VERSION
    assert KeyValue.get(KeyValue.key == "schema_version").value == str(SCHEMA_VERSION)
