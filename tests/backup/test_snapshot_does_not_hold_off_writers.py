"""The snapshot is a read transaction: orders keep being written while it is taken and read (on
SQLite the box's writer queue is held for a moment only), and it holds exactly the data it counted.

On SQLite it reads the live database file itself; these tests write and checkpoint during the read
to show the file cannot change under it, and cover the backup-API copy used when it can't be pinned.
"""
from __future__ import annotations

import shutil
import sqlite3
import threading

from appliance import orders, stats
from appliance.db import database
from backup import snapshot

from .helpers import sqlite_counts


def order(shop, qty: int = 1):
    return orders.create_order(shop, channel="store", actor="till", lines=[orders.LineRequest("SKU-1", qty)])[0]


def copy_out(taken: snapshot.Taken, out) -> None:
    with open(out, "wb") as f:
        shutil.copyfileobj(taken.source, f)


def integrity(path) -> str:
    con = sqlite3.connect(path)
    try:
        return con.execute("PRAGMA integrity_check").fetchone()[0]
    finally:
        con.close()


def test_an_order_is_written_while_the_snapshot_is_taken_and_is_not_in_it(shop, tmp_path, monkeypatch):
    written: dict = {}
    counted = stats.business_counts

    def counts_then_an_order_meanwhile() -> dict:
        counts = counted()  # inside the snapshot's read transaction

        def write() -> None:
            try:
                written["order"] = order(shop)
            except Exception as e:  # noqa: BLE001 - reported below
                written["error"] = e
        writer = threading.Thread(target=write)
        writer.start()
        writer.join(10)
        return counts

    monkeypatch.setattr(snapshot.stats, "business_counts", counts_then_an_order_meanwhile)
    before = counted()

    with snapshot.taken(tmp_path) as taken:
        counts = taken.counts()
        monkeypatch.undo()
        copy_out(taken, tmp_path / "snap.db")

    assert "error" not in written and written.get("order") is not None  # not blocked, not "database is locked"
    assert taken.how == "live file"
    assert counts == before == sqlite_counts(tmp_path / "snap.db")
    assert counted()["orders"] == before["orders"] + 1


def test_writes_and_checkpoints_while_the_live_file_is_read_do_not_reach_the_copy(shop, tmp_path):
    before = stats.business_counts()
    with snapshot.taken(tmp_path) as taken:
        first_half = taken.source.read(taken.size // 2)

        checkpoint: dict = {}

        def write_and_checkpoint() -> None:
            for n in range(150):  # enough WAL pages for SQLite's own automatic checkpoints too
                order(shop, 1 + n % 3)
            con = sqlite3.connect(database.obj.database)
            try:
                checkpoint["busy, frames, copied"] = con.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()
            finally:
                con.close()
        writer = threading.Thread(target=write_and_checkpoint)
        writer.start()
        writer.join(60)
        busy, frames, copied = checkpoint["busy, frames, copied"]
        assert frames > 0 and copied == 0  # the snapshot's reader kept every checkpoint out of the file
        with open(tmp_path / "snap.db", "wb") as f:
            f.write(first_half)
            shutil.copyfileobj(taken.source, f)
        counts = taken.counts()  # counted after the writes, still what the snapshot holds

    assert taken.how == "live file"
    assert integrity(tmp_path / "snap.db") == "ok"
    assert sqlite_counts(tmp_path / "snap.db") == counts == before
    assert stats.business_counts()["orders"] == before["orders"] + 150


def test_a_reader_holding_an_old_view_makes_it_copy_through_the_backup_api(shop, tmp_path):
    old_reader = sqlite3.connect(database.obj.database, isolation_level=None)
    old_reader.execute("BEGIN")
    old_reader.execute("SELECT count(*) FROM orders").fetchone()  # holds the WAL from here on
    try:
        newest = order(shop)
        with snapshot.taken(tmp_path) as taken:
            copy_out(taken, tmp_path / "snap.db")
            counts = taken.counts()
    finally:
        old_reader.close()

    assert taken.how == "backup API"
    assert sqlite_counts(tmp_path / "snap.db") == counts == stats.business_counts()
    assert counts["last_order_number"] == newest.number
    assert not (tmp_path / "snapshot").exists()  # the scratch copy is gone once read
