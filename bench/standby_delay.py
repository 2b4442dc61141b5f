"""End to end, how long an acknowledged order takes to reach the standby's copy (issue 12's "standby
lag", measured from the outside). The follower's own lag figure is how old the oldest transaction it
has not applied is, among those it has *seen on the replica*: an order still on its way (in the
primary's outbox, being sealed or uploaded) does not count there yet. This measure starts from the
till's answer instead: for each acknowledged order, the time from the tills' acknowledgement to the
first look that found it in the standby's copy (`standby/appliance.db`, read-only).

Used by bench/failover_bench.py's steady run (`CopyWatch` on a thread, `delays` afterwards).
"""
from __future__ import annotations

import sqlite3
import statistics
import threading
import time
from pathlib import Path

LOOK_SECONDS = 0.05  # how often the copy is looked at: the figures are this much too high at most


class CopyWatch:
    """Looks at the copy every `step` seconds on a thread of its own and notes when each order
    number first appears in it (wall clock: the tills' history uses it too). Each look is one short
    read-only query for the rows after the newest id seen so far (a look the copy refuses, e.g.
    while Litestream writes it, is skipped and counted)."""

    def __init__(self, copy: Path, step: float = LOOK_SECONDS):
        self.copy, self.step = copy, step
        self.seen: dict[str, float] = {}  # order number -> when a look first found it
        self.looks = self.refused = 0
        self._after_id = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._watch, name="copy-watch", daemon=True)
        self._thread.start()

    def _watch(self) -> None:
        while not self._stop.is_set():
            started = time.monotonic()
            self._look()
            self._stop.wait(max(0.0, started + self.step - time.monotonic()))

    def _look(self) -> None:
        self.looks += 1
        try:
            conn = sqlite3.connect(f"file:{self.copy}?mode=ro", uri=True, timeout=0.2)
            try:
                rows = conn.execute("SELECT id, number FROM orders WHERE id > ? ORDER BY id", (self._after_id,)).fetchall()
            finally:
                conn.close()
        except sqlite3.Error:
            self.refused += 1
            return
        now = time.time()
        for order_id, number in rows:
            self.seen.setdefault(number, now)
            self._after_id = order_id

    def stop(self) -> None:
        self._stop.set()
        self._thread.join()


def delays(acknowledged: list[dict], seen: dict[str, float], since: float, until: float) -> dict:
    """For the orders acknowledged between `since` and `until` (the tills' history entries): the
    seconds from each acknowledgement to its first sight in the copy. `unseen`: how many of them no
    look found (still on their way when the watch stopped)."""
    window = [e for e in acknowledged if since <= e["answered"] <= until]
    found = sorted(seen[e["number"]] - e["answered"] for e in window if e["number"] in seen)
    return {"orders": len(window), "unseen": len(window) - len(found), "delays": found}


def summary(measured: dict) -> str:
    found = measured["delays"]
    if not found:
        return f"no acknowledged order reached the copy ({measured['orders']} acknowledged)"
    p90 = found[int(0.9 * (len(found) - 1))]
    return (f"median {statistics.median(found):.2f} s, 90th percentile {p90:.2f} s, max {max(found):.2f} s "
            f"({len(found)} orders; {measured['unseen']} not yet there when the watch stopped)")
