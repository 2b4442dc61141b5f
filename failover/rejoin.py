"""`failover rejoin`: an old primary that comes back after a failover becomes the new standby, and
the orders it acknowledged that never reached the new primary are listed, not dropped in silence.

The returning box stays fenced on its own (the lease holder sees another box hold a higher epoch).
Rejoining then:
1. refuses on a box that may write, or while no other box holds the lease;
2. restores the new primary's replica (what the new primary has now) into a scratch file;
3. compares the orders: each order of this box's database whose number and creation time are not in
   the new primary's is quarantined — written with its lines to `quarantine/rejoin-<time>.json`
   and `.csv` for a manager to re-enter (its number may by now name another order on the primary,
   which the list says);
4. sets this box's database aside (`<db>.before-rejoin-<time>`, kept for the record) with
   Litestream's local state of it, so the follower makes a fresh copy of the primary's database.
The box then follows (`appliance failover follow`, the `appliance-follow` unit).
"""
from __future__ import annotations

import csv
import json
import os
import shutil
import sqlite3
import time
from pathlib import Path

from appliance import fencing
from appliance.config import Settings
from appliance.errors import Conflict

from backup import replication
from backup.replication.config import database_path, meta_dir, outbox_dir
from backup.staging import working_folder

from . import standby

QUARANTINE_DIR = "quarantine"


def rejoin(settings: Settings, lease_holder: str | None, lease_epoch: int | None,
           clock=time.time) -> dict:
    """Makes this box the standby of `lease_holder`; returns the quarantine (orders to re-enter)."""
    if fencing.permits_writes(settings.home):
        raise Conflict("This box may write: it is the primary. Rejoin runs on the box that lost the lease.")
    me = settings.failover.box_name
    if not lease_holder or lease_holder == me:
        raise Conflict("No other box holds the lease: there is no primary to rejoin "
                       "(failover status; promote this box instead if it should take orders).")
    own = database_path(settings)
    stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime(clock()))
    with working_folder(settings, "rejoin") as work:
        primary_copy = work / "primary.db"
        replication.restore(settings, output=str(primary_copy), force=True, show_progress=False)
        orphans = unshipped_orders(own, primary_copy) if own.exists() else []
    folder = settings.path(QUARANTINE_DIR)
    folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    listing = folder / f"rejoin-{stamp}.json"
    report = {"box": me, "rejoined": lease_holder, "epoch": lease_epoch, "at": stamp, "orders": orphans}
    listing.write_text(json.dumps(report, indent=2))
    _write_csv(folder / f"rejoin-{stamp}.csv", orphans)
    _set_aside(own, stamp)
    _set_aside(outbox_dir(settings), stamp)  # what this box replicated as the primary: shipped or lost
    for leftover in standby.paths(settings)[1:]:  # an old copy or mirror: the follower starts afresh
        if leftover.is_dir():
            shutil.rmtree(leftover, ignore_errors=True)
        else:
            leftover.unlink(missing_ok=True)
    return {**report, "listing": str(listing)}


def unshipped_orders(own: Path, primary: Path) -> list[dict]:
    """Orders of `own` not in `primary` (by number and creation time), with their lines."""
    with _read_only(primary) as theirs:
        kept = set(theirs.execute("SELECT number, created_at FROM orders"))
        numbers_taken = {number for number, _ in kept}
    found = []
    with _read_only(own) as mine:
        for order_id, number, created_at, status, total, channel, epoch in mine.execute(
                "SELECT id, number, created_at, status, total_cents, channel, epoch FROM orders ORDER BY id"):
            if (number, created_at) in kept:
                continue
            lines = [{"sku": sku, "name": name, "qty": qty, "unit_price_cents": price}
                     for sku, name, qty, price in mine.execute(
                         "SELECT p.sku, p.name, l.qty, l.unit_price_cents FROM order_line l "
                         "JOIN product p ON p.id = l.product_id WHERE l.order_id = ? ORDER BY l.id", (order_id,))]
            found.append({"number": number, "created_at": created_at, "status": status, "channel": channel,
                          "total_cents": total, "epoch": epoch, "lines": lines,
                          "number_now_names_another_order": number in numbers_taken})
    return found


class _read_only:
    def __init__(self, path: Path):
        self.conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)

    def __enter__(self) -> sqlite3.Connection:
        return self.conn

    def __exit__(self, *exc) -> None:
        self.conn.close()


def _write_csv(path: Path, orders: list[dict]) -> None:
    with open(path, "w", newline="") as f:
        out = csv.writer(f)
        out.writerow(["number", "created_at", "epoch", "status", "channel", "total_cents", "sku", "name", "qty",
                      "unit_price_cents", "number_now_names_another_order"])
        for order in orders:
            for line in order["lines"] or [{}]:
                out.writerow([order["number"], order["created_at"], order["epoch"], order["status"], order["channel"],
                              order["total_cents"], line.get("sku"), line.get("name"), line.get("qty"),
                              line.get("unit_price_cents"), order["number_now_names_another_order"]])


def _set_aside(path: Path, stamp: str) -> None:
    """A database (with its WAL and Litestream's state of it) or a folder, renamed for the record."""
    for part in (path, Path(f"{path}-wal"), Path(f"{path}-shm"), meta_dir(path)):
        if part.exists():
            os.replace(part, part.with_name(f"{part.name}.before-rejoin-{stamp}"))
