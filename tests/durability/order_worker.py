"""A separate OS process that creates orders straight through the domain (no HTTP).

    python -m tests.durability.order_worker '<json job>'

job: {"home": str, "url": str, "threads": int, "go_file": str, "orders": [[[sku, qty], ...], ...]}
It waits for go_file to exist (so every process starts at once), runs the orders over `threads`
threads, and prints one JSON line: [{"lines": [...], "number": str | null, "error": str | null}, ...].
"""
from __future__ import annotations

import json
import os
import sys
import threading
import time
from pathlib import Path


def main() -> None:
    job = json.loads(sys.argv[1])
    from appliance import config, orders, runtime
    from appliance.db import database
    from appliance.errors import InsufficientStock
    from cli.wiring import register_settings; register_settings()  # noqa: E702 - [backup], [monitors]

    settings = config.load(Path(job["home"]), environ={"APPLIANCE_DATABASE_URL": job["url"]})
    runtime.connect(settings)
    pending = list(enumerate(job["orders"]))
    results: list[dict | None] = [None] * len(pending)
    lock = threading.Lock()

    def run() -> None:
        try:
            while True:
                with lock:
                    if not pending:
                        return
                    i, lines = pending.pop(0)
                try:
                    order, _ = orders.create_order(settings, channel="api", actor=f"proc-{os.getpid()}",
                                                   lines=[orders.LineRequest(s, q) for s, q in lines])
                    results[i] = {"lines": lines, "number": order.number, "status": order.status, "error": None}
                except InsufficientStock:
                    results[i] = {"lines": lines, "number": None, "error": "InsufficientStock"}
                except Exception as e:  # noqa: BLE001 - reported to the test, which fails on it
                    results[i] = {"lines": lines, "number": None, "error": f"{type(e).__name__}: {e}"}
        finally:
            database.close()

    deadline = time.monotonic() + 30
    while not os.path.exists(job["go_file"]) and time.monotonic() < deadline:
        time.sleep(0.002)
    threads = [threading.Thread(target=run) for _ in range(job["threads"])]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    print(json.dumps(results), flush=True)


if __name__ == "__main__":
    main()
