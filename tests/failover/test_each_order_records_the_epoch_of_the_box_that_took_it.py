"""Each order records the pair's epoch its box held when it took it (a number that only grows, so
the orders of two primaries never share one: the checker of a failover and `failover rejoin` can
tell who acknowledged what); a single box records none. An older database gains the column."""
from __future__ import annotations

from appliance import fencing, inventory, orders
from appliance.db import database
from appliance.models import KeyValue, Order
from appliance.schema import migrate
from tests.conftest import on_both_engines

database_url = on_both_engines()


def _sale(settings):
    return orders.create_order(settings, channel="store", lines=[orders.LineRequest("TEA", 1)], actor="test")[0]


def _stocked():
    inventory.create_product({"sku": "TEA", "name": "Tea", "price_cents": 350}, "test")
    inventory.receive("TEA", 5, "test")


def test_orders_carry_the_epoch_of_the_permit_they_were_written_under(settings, db, home):
    _stocked()
    single = _sale(settings)
    fencing.write_permit(home, fencing.Permit(True, fencing.boot_clock() + 60, fencing.boot_id(), 7, "box-a",
                                              "holds the lease (epoch 7)"))
    paired = _sale(settings)
    fencing.write_permit(home, fencing.Permit(True, fencing.boot_clock() + 60, fencing.boot_id(), 8, "box-a",
                                              "holds the lease (epoch 8)"))
    later = _sale(settings)

    assert [Order.get_by_id(o.id).epoch for o in (single, paired, later)] == [None, 7, 8]
    assert orders.order_dict(Order.get_by_id(paired.id), settings)["epoch"] == 7
    assert orders.order_dict(Order.get_by_id(single.id), settings)["epoch"] is None


def test_a_version_8_database_gains_the_epoch_column(settings, db):
    _stocked()
    before = _sale(settings)
    database.execute_sql("ALTER TABLE orders DROP COLUMN epoch")
    KeyValue.put("schema_version", "8")

    migrate()

    assert "epoch" in {c.name for c in database.get_columns("orders")}
    assert Order.get_by_id(before.id).epoch is None and _sale(settings).epoch is None
