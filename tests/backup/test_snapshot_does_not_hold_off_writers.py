"""The snapshot is a read transaction: orders keep being written while it is taken (on SQLite the
box's writer queue is not held by it), and the snapshot holds exactly the data it counted."""
from __future__ import annotations

import threading

from appliance import orders, stats
from backup import snapshot

from .helpers import sqlite_counts


def test_an_order_is_written_while_the_snapshot_is_taken_and_is_not_in_it(shop, tmp_path, monkeypatch):
    written: dict = {}
    counted = stats.business_counts

    def counts_then_an_order_meanwhile() -> dict:
        counts = counted()  # inside the snapshot's read transaction

        def write() -> None:
            try:
                written["order"], _ = orders.create_order(shop, channel="store", actor="till",
                                                          lines=[orders.LineRequest("SKU-1", 1)])
            except Exception as e:  # noqa: BLE001 - reported below
                written["error"] = e
        writer = threading.Thread(target=write)
        writer.start()
        writer.join(10)
        return counts

    monkeypatch.setattr(snapshot.stats, "business_counts", counts_then_an_order_meanwhile)
    before = counted()

    counts = snapshot.take(tmp_path / "snap.db")
    monkeypatch.undo()

    assert "error" not in written and written.get("order") is not None  # not blocked, not "database is locked"
    assert counts == before == sqlite_counts(tmp_path / "snap.db")
    assert counted()["orders"] == before["orders"] + 1
