"""The tills' history (tests/failover/rig_client.py) checked against the boxes' databases afterwards,
Jepsen's way (DESIGN.md §8): an acknowledged order is present exactly once on the survivor (or
listed in a rejoined box's quarantine), no two epochs acknowledge orders at overlapping times, and
the survivor's stock equals its ledger, nothing is oversold and its audit chain is intact.
"""
from __future__ import annotations

import json
from pathlib import Path

from appliance import audit, inventory
from appliance.models import StockLevel
from tests.durability.stock_checks import box_database


def load(folder: Path, stem: str = "history") -> list[dict]:
    """Every till's answers, in the order they were sent."""
    entries = []
    for path in sorted(Path(folder).glob(f"{stem}.*.jsonl")):
        for line in path.read_text().splitlines():
            if line.strip():
                try:
                    entries.append(json.loads(line))
                except ValueError:
                    pass  # the last line of a till killed while writing it
    return sorted(entries, key=lambda e: e["sent"])


def acks(history: list[dict], epoch: int | None = None) -> list[dict]:
    return [e for e in history if e["outcome"] == "ack" and (epoch is None or e["epoch"] == epoch)]


def first_ack_after(history: list[dict], instant: float, min_epoch: int = 0) -> dict | None:
    """The first order acknowledged that was sent after `instant` (wall clock) by an epoch ≥ min_epoch."""
    found = [e for e in acks(history) if e["sent"] >= instant and (e["epoch"] or 0) >= min_epoch]
    return min(found, key=lambda e: e["answered"]) if found else None


def lost(history: list[dict], orders: list[dict]) -> list[dict]:
    """Acknowledged orders missing from `orders` (a database's, by number and epoch: a promoted box
    numbers on from what it has, so a number alone may name another order there)."""
    present = {(o["number"], o["epoch"]) for o in orders}
    return [e for e in acks(history) if (e["number"], e["epoch"]) not in present]


def duplicated(orders: list[dict]) -> list[tuple]:
    seen, twice = set(), []
    for o in orders:
        key = (o["number"], o["epoch"])
        if key in seen:
            twice.append(key)
        seen.add(key)
    return twice


def split_brain(history: list[dict]) -> list[tuple[dict, dict]]:
    """Pairs of acknowledgements that prove two epochs took orders at overlapping times: an order
    of an older epoch *sent* after an order of a newer epoch had already been acknowledged."""
    overlapping = []
    newest_answered: dict[int, float] = {}
    for e in sorted(acks(history), key=lambda e: e["answered"]):
        newest_answered.setdefault(e["epoch"], e["answered"])  # each epoch's first acknowledgement
    for e in acks(history):
        for epoch, first in newest_answered.items():
            if epoch > e["epoch"] and e["sent"] > first:
                overlapping.append((e, epoch))
    return overlapping


def longest_gap(history: list[dict], start: float, end: float) -> float:
    """The longest time between two consecutive acknowledgements answered in [start, end]."""
    times = [start] + sorted(e["answered"] for e in acks(history) if start <= e["answered"] <= end) + [end]
    return max(b - a for a, b in zip(times, times[1:]))


def survivor_problems(home: Path) -> list[str]:
    """Stock = ledger, nothing oversold, audit chain intact: what is wrong on the box, if anything."""
    with box_database(home):
        return database_problems()


def database_problems() -> list[str]:
    """survivor_problems on the open database (a PostgreSQL pair's checker reads it in one snapshot:
    the tills may still be writing, tests/failover/pg_rig.py)."""
    problems = []
    mismatches = inventory.ledger_mismatches()
    if mismatches:
        problems.append(f"stock levels differ from the ledger: {mismatches[:3]}")
    oversold = [(level.product_id, level.on_hand, level.reserved) for level in StockLevel.select()
                if level.reserved > level.on_hand or level.on_hand < 0 or level.reserved < 0]
    if oversold:
        problems.append(f"oversold levels (product, on hand, reserved): {oversold[:3]}")
    chain = audit.verify()
    if not chain.ok:
        problems.append(f"audit chain broken: {chain.reason}")
    return problems
