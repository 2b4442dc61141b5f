"""A promoted standby moves its copy of the primary's database into the box's database path. A
connection opened before would go on reading and writing the file set aside: each thread's
connection is opened again, before its next write transaction or request, when another file has
taken the path — and an order written then lands in the new file."""
from __future__ import annotations

import os
import shutil
import sqlite3

from appliance import inventory
from appliance.db import database, write_transaction
from appliance.models import Product


def test_a_write_after_the_file_was_replaced_goes_to_the_new_file(settings, db, home):
    inventory.create_product({"sku": "OLD-1", "name": "Kept on the old file", "price_cents": 100}, "test")
    path = home / "appliance.db"
    database.execute_sql("PRAGMA wal_checkpoint(TRUNCATE)")
    replacement = home / "promoted.db"
    shutil.copy(path, replacement)
    conn = sqlite3.connect(replacement)
    conn.execute("UPDATE product SET name = 'From the primary' WHERE sku = 'OLD-1'")
    conn.commit()
    conn.close()
    os.replace(replacement, path)

    with write_transaction():
        seen = Product.get(Product.sku == "OLD-1").name
        Product.update(price_cents=250).where(Product.sku == "OLD-1").execute()

    assert seen == "From the primary"
    conn = sqlite3.connect(path)
    try:
        assert conn.execute("SELECT price_cents FROM product WHERE sku = 'OLD-1'").fetchone() == (250,)
    finally:
        conn.close()


def test_a_request_connection_is_opened_again_too(settings, db, home):
    database.connect(reuse_if_open=True)
    before = database.connection()
    path = home / "appliance.db"
    database.execute_sql("PRAGMA wal_checkpoint(TRUNCATE)")
    shutil.copy(path, home / "copy.db")
    os.replace(home / "copy.db", path)

    database.connect(reuse_if_open=True)  # what each request does first

    assert database.connection() is not before
    database.connect(reuse_if_open=True)
    assert database.connection() is database.connection()  # an unchanged file keeps its connection
