"""The till of the namespace rig (tests/failover/rig.py), run inside the till's namespace.

    python -m tests.failover.rig_client loop --token T --history H.jsonl URL SKU [SKU …]
    python -m tests.failover.rig_client once --token T METHOD URL BODY

`loop` places one-line orders (one unit of the SKUs in turn), each with a fresh Idempotency-Key,
until SIGTERM, and appends every answer to the history as one JSON line: the key, the SKU, when it
was sent and answered (wall clock: the namespaces share it, and the boxes' created_at), the HTTP
status (0: no answer), and the order's number and epoch or the error. `outcome` is `ack` (201),
`refused` (an HTTP answer that took nothing, or a connection refused: the request reached no
server) or `timeout` (no answer: it may or may not have been taken). `once` prints one answer.
"""
from __future__ import annotations

import argparse
import json
import signal
import sys
import time
import uuid
from urllib.parse import urlsplit

from tests.durability.served import Client

TIMEOUT = 2.0


def attempt(client: Client, method: str, path: str, body: dict | None, key: str | None) -> dict:
    headers = {"Idempotency-Key": key} if key else {}
    try:
        status, answer, _ = client.request(method, path, body if method != "GET" else None, headers=headers)
    except ConnectionRefusedError as e:
        return {"status": 0, "outcome": "refused", "error": repr(e)}
    except OSError as e:
        return {"status": 0, "outcome": "timeout", "error": repr(e)}
    answer = answer if isinstance(answer, dict) else {"raw": str(answer)[:200]}
    outcome = "ack" if status == 201 else "refused"
    return {"status": status, "outcome": outcome, "body": answer, "number": answer.get("number"),
            "epoch": answer.get("epoch"), "error": answer.get("error")}


def loop(url: str, token: str, history: str, skus: list[str], pause: float) -> None:
    stopping = []
    signal.signal(signal.SIGTERM, lambda *_: stopping.append(True))
    parts = urlsplit(url)
    client = Client(parts.port, token, TIMEOUT, host=parts.hostname)
    n = 0
    with open(history, "a") as out:
        while not stopping:
            sku, key = skus[n % len(skus)], uuid.uuid4().hex
            sent = time.time()
            answer = attempt(client, "POST", "/api/v1/orders",
                             {"channel": "api", "lines": [{"sku": sku, "qty": 1}]}, key)
            answer.pop("body", None)
            out.write(json.dumps({"key": key, "sku": sku, "sent": sent, "answered": time.time(), **answer}) + "\n")
            out.flush()
            n += 1
            if answer["outcome"] != "ack":
                client.reset()  # the shop address may have moved: a new connection finds the new box
            time.sleep(pause)


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser()
    sub = parser.add_subparsers(dest="mode", required=True)
    looping = sub.add_parser("loop")
    looping.add_argument("--token", required=True)
    looping.add_argument("--history", required=True)
    looping.add_argument("--pause", type=float, default=0.02)
    looping.add_argument("url")
    looping.add_argument("skus", nargs="+")
    once = sub.add_parser("once")
    once.add_argument("--token", default="")
    once.add_argument("method")
    once.add_argument("url")
    once.add_argument("body")
    args = parser.parse_args(argv)
    if args.mode == "loop":
        loop(args.url, args.token, args.history, args.skus, args.pause)
        return 0
    parts = urlsplit(args.url)
    client = Client(parts.port, args.token or None, TIMEOUT, host=parts.hostname)
    body = json.loads(args.body) or None
    print(json.dumps(attempt(client, args.method, parts.path + (f"?{parts.query}" if parts.query else ""),
                             body, None)))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
