"""Order creation: what the box sustains over HTTP, what the engine alone sustains, and tail latency
at a steady rate. Aims (issue 2): >= 600 orders/s over HTTP, p99 < 30 ms at a steady 100 orders/s,
serving process < 150 MB RSS. Durable settings: SQLite WAL, synchronous=full (the defaults).

    .venv/bin/python -m bench orders                      (or ./dev bench orders)
    .venv/bin/python bench/orders_bench.py --seconds 10 --clients 16 --rate 100 --workers 2

Every order has 3 lines (3 distinct SKUs out of 50, qty 1-3) and its own Idempotency-Key.
1. engine: the same create_order transaction in-process, one thread, no HTTP (the engine's limit);
2. HTTP closed loop: --clients keep-alive connections against a real `appliance serve`;
3. HTTP open loop: one order every 1/--rate s whatever the server does (latency counted from the
   scheduled send time, so queueing is not hidden);
4. RSS of the serving processes (master, workers and the order writer, psutil) after the load.
The load generator is a small asyncio client in this process (pre-formatted requests, minimal
parsing); it shares the 2 cores with the server, and its CPU use is printed.
"""
from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

import psutil

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

SKUS = [f"B{i:03d}" for i in range(50)]
STOCK = 10_000_000  # the most one stock level holds (appliance/limits.py MAX_ON_HAND)


# -- shared ------------------------------------------------------------------------------------

def order_body(rng: random.Random) -> dict:
    return {"channel": "api", "lines": [{"sku": s, "qty": rng.randint(1, 3)} for s in rng.sample(SKUS, 3)]}


def seed(home: Path) -> None:
    """50 products with plenty of stock, written in-process before the server starts."""
    from appliance import config, inventory, runtime
    from appliance.limits import MAX_MOVE_QTY
    from cli.wiring import extra_models
    from appliance.schema import migrate
    runtime.connect(config.load(home))
    migrate(extra_models())
    for sku in SKUS:
        inventory.create_product({"sku": sku, "name": f"Bench {sku}", "price_cents": 250}, "bench")
        for _ in range(STOCK // MAX_MOVE_QTY):  # received in the largest moves allowed
            inventory.receive(sku, MAX_MOVE_QTY, "bench")
    runtime.close()


def pct(values: list[float], p: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(p / 100 * (len(ordered) - 1))))]


def summary(latencies: list[float], seconds: float) -> dict:
    ms = [x * 1000 for x in latencies]
    return {"orders": len(ms), "per_second": len(ms) / seconds if seconds else 0.0,
            "p50_ms": pct(ms, 50), "p99_ms": pct(ms, 99), "max_ms": max(ms, default=float("nan")),
            "mean_ms": statistics.fmean(ms) if ms else float("nan")}


def sqlite_settings(home: Path) -> dict:
    import sqlite3
    con = sqlite3.connect(home / "appliance.db")
    try:
        return {"journal_mode": con.execute("PRAGMA journal_mode").fetchone()[0]}
    finally:
        con.close()


# -- 1. the engine alone ----------------------------------------------------------------------

def engine_bench(home: Path, seconds: float) -> dict:
    """create_order in-process, one thread, same durable SQLite settings as the server."""
    from appliance import config, orders, runtime
    from appliance.db import database
    settings = config.load(home)
    runtime.connect(settings)
    sync = database.execute_sql("PRAGMA synchronous").fetchone()[0]
    rng = random.Random(1)
    latencies = []
    warm_until = time.perf_counter() + 1.0
    started = end = cpu_start = None
    i = 0
    while True:
        body = order_body(rng)
        i += 1
        t0 = time.perf_counter()
        orders.create_order(settings, channel="api", actor="bench",
                            lines=[orders.LineRequest(l["sku"], l["qty"]) for l in body["lines"]],
                            idempotency=orders.Idempotency(f"engine-{i}", f"{i:064d}"))
        t1 = time.perf_counter()
        if t1 < warm_until:
            continue
        if started is None:
            started, end, cpu_start = t0, t0 + seconds, time.process_time()
        latencies.append(t1 - t0)
        if t1 >= end:
            break
    cpu_ms = 1000 * (time.process_time() - cpu_start) / len(latencies)
    runtime.close()
    return summary(latencies, time.perf_counter() - started) | {"synchronous": sync, "cpu_ms_per_order": cpu_ms}


def add_history(home: Path, count: int) -> None:
    """`count` confirmed 3-line orders from today, written straight into SQLite (fast): the
    history a busy shop has after a while, which the approval rules read on every order."""
    import datetime
    import sqlite3
    con = sqlite3.connect(home / "appliance.db")
    try:
        ids = {sku: pid for sku, pid in con.execute("SELECT sku, id FROM product")}
        now = datetime.datetime.utcnow().isoformat(sep=" ")
        first = con.execute("SELECT COALESCE(MAX(id), 0) FROM orders").fetchone()[0] + 1
        rng = random.Random(3)
        con.executemany(
            "INSERT INTO orders (id, number, channel, status, total_cents, pending_reasons, created_by, "
            "created_at, updated_at, confirmed_at) VALUES (?, ?, 'api', 'confirmed', 1500, '[]', 'bench', ?, ?, ?)",
            ((first + i, f"HIST{first + i}", now, now, now) for i in range(count)))
        con.executemany(
            "INSERT INTO order_line (order_id, product_id, qty, unit_price_cents, line_total_cents) "
            "VALUES (?, ?, 2, 250, 500)",
            ((first + i, ids[sku]) for i in range(count) for sku in rng.sample(SKUS, 3)))
        con.commit()
    finally:
        con.close()


# -- HTTP load generator ----------------------------------------------------------------------

class Connection:
    def __init__(self, port: int, token: str):
        self.port, self.token = port, token
        self.reader = self.writer = None

    async def open(self) -> "Connection":
        self.reader, self.writer = await asyncio.open_connection("127.0.0.1", self.port)
        return self

    def request_bytes(self, body: dict, key: str) -> bytes:
        data = json.dumps(body, separators=(",", ":")).encode()
        return (f"POST /api/v1/orders HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer {self.token}\r\n"
                f"Content-Type: application/json\r\nIdempotency-Key: {key}\r\n"
                f"Content-Length: {len(data)}\r\n\r\n").encode() + data

    async def send(self, raw: bytes) -> int:
        if self.writer is None:
            await self.open()
        self.writer.write(raw)
        head = await self.reader.readuntil(b"\r\n\r\n")
        status = int(head[9:12])
        length, close = 0, False
        for line in head.split(b"\r\n")[1:]:
            name, _, value = line.partition(b":")
            lname = name.strip().lower()
            if lname == b"content-length":
                length = int(value)
            elif lname == b"connection" and value.strip().lower() == b"close":
                close = True
        if length:
            await self.reader.readexactly(length)
        if close:
            self.close()
        return status

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
        self.reader = self.writer = None


async def closed_loop(port: int, token: str, clients: int, seconds: float, warmup: float, tag: str) -> dict:
    """`clients` connections each sending the next order as soon as the last one is answered."""
    latencies: list[float] = []
    errors: dict[int, int] = {}
    loop = asyncio.get_running_loop()
    t_start = loop.time()
    measure_from, stop_at = t_start + warmup, t_start + warmup + seconds

    async def client(n: int) -> None:
        conn, rng, i = await Connection(port, token).open(), random.Random(n), 0
        while True:
            now = loop.time()
            if now >= stop_at:
                break
            i += 1
            raw = conn.request_bytes(order_body(rng), f"{tag}-{n}-{i}")
            t0 = time.perf_counter()
            status = await conn.send(raw)
            t1 = time.perf_counter()
            if status != 201:
                errors[status] = errors.get(status, 0) + 1
            elif loop.time() >= measure_from and loop.time() <= stop_at:
                latencies.append(t1 - t0)
        conn.close()

    await asyncio.gather(*(client(n) for n in range(clients)))
    return summary(latencies, seconds) | {"errors": errors, "clients": clients}


async def open_loop(port: int, token: str, rate: float, seconds: float, pool: int = 32) -> dict:
    """One order every 1/rate s; latency from the *scheduled* time (no coordinated omission)."""
    loop = asyncio.get_running_loop()
    idle: asyncio.Queue[Connection] = asyncio.Queue()
    for _ in range(pool):
        idle.put_nowait(await Connection(port, token).open())
    rng = random.Random(99)
    latencies: list[float] = []
    errors: dict[int, int] = {}
    tasks = []

    async def one(scheduled: float, raw: bytes) -> None:
        conn = await idle.get()
        status = await conn.send(raw)
        latencies.append(loop.time() - scheduled)
        if status != 201:
            errors[status] = errors.get(status, 0) + 1
        idle.put_nowait(conn)

    total = int(rate * seconds)
    start = loop.time() + 0.1
    for i in range(total):
        scheduled = start + i / rate
        raw = Connection(port, token).request_bytes(order_body(rng), f"open-{i}")
        delay = scheduled - loop.time()
        if delay > 0:
            await asyncio.sleep(delay)
        tasks.append(asyncio.create_task(one(scheduled, raw)))
    await asyncio.gather(*tasks)
    while not idle.empty():
        idle.get_nowait().close()
    result = summary(latencies, seconds) | {"errors": errors}
    result["per_second"] = rate
    return result


def cpu_of(pids: list[int]) -> float:
    total = 0.0
    for pid in pids:
        try:
            t = psutil.Process(pid).cpu_times()
            total += t.user + t.system
        except psutil.NoSuchProcess:
            pass
    return total


# -- main -------------------------------------------------------------------------------------

def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=10, help="measured seconds of the closed-loop HTTP run")
    parser.add_argument("--clients", type=int, default=16, help="concurrent keep-alive clients (closed loop)")
    parser.add_argument("--rate", type=float, default=100, help="orders/s of the open-loop run")
    parser.add_argument("--rate-seconds", type=float, default=10)
    parser.add_argument("--engine-seconds", type=float, default=5)
    parser.add_argument("--history", type=int, default=100_000,
                        help="also time the engine after this many orders of history (0: skip)")
    parser.add_argument("--workers", type=int, default=None, help="web workers (default: server.workers)")
    parser.add_argument("--threads", type=int, default=None, help="threads per worker (default: server.threads)")
    parser.add_argument("--json", action="store_true", help="also print the figures as one JSON line")
    parser.add_argument("--keep", action="store_true", help="keep the temp homes (for profiling)")
    args = parser.parse_args(argv)

    from appliance import config
    from cli.wiring import register_settings; register_settings()  # noqa: E702 - seed() loads [backup]
    from tests.durability.served import ServedAppliance
    defaults = config.Settings().server
    workers, threads = args.workers or defaults.workers, args.threads or defaults.threads

    tmp = Path(tempfile.mkdtemp(prefix="orders-bench-"))
    me = psutil.Process()
    results: dict = {"cpus": os.cpu_count(), "workers": workers, "threads": threads, "loadavg": os.getloadavg()}
    try:
        engine_box = ServedAppliance(tmp / "engine").init()
        seed(engine_box.home)
        results["engine"] = engine_bench(engine_box.home, args.engine_seconds)
        results["sqlite"] = sqlite_settings(engine_box.home) | {"synchronous": results["engine"].pop("synchronous")}
        if args.history:
            add_history(engine_box.home, args.history)
            results["engine_history"] = engine_bench(engine_box.home, args.engine_seconds)
            results["engine_history"]["history"] = args.history

        box = ServedAppliance(tmp / "box").init()
        token = box.token("staff", "bench")
        seed(box.home)
        box.start(workers=workers, threads=threads)
        try:
            writer = box.writer_pid()
            results["order_writer"] = writer is not None
            server_pids = [box.pid] + box.worker_pids() + ([writer] if writer else [])
            results["rss_idle"] = box.rss()
            cpu0, srv0, wall0 = me.cpu_times(), cpu_of(server_pids), time.perf_counter()
            results["http"] = asyncio.run(closed_loop(box.port, token, args.clients, args.seconds, 2.0, "closed"))
            cpu1, srv1, wall1 = me.cpu_times(), cpu_of(server_pids), time.perf_counter()
            results["http"]["client_cpu_pct"] = 100 * ((cpu1.user + cpu1.system) - (cpu0.user + cpu0.system)) / (wall1 - wall0)
            results["http"]["server_cpu_pct"] = 100 * (srv1 - srv0) / (wall1 - wall0)
            done = results["http"]["orders"] * (wall1 - wall0) / args.seconds  # warm-up included
            results["http"]["server_cpu_ms_per_order"] = 1000 * (srv1 - srv0) / max(done, 1)
            results["rss_after_closed"] = box.rss()
            results["steady"] = asyncio.run(open_loop(box.port, token, args.rate, args.rate_seconds))
            results["rss"] = box.rss()
        finally:
            box.stop()
            errors = [line for line in box.log_tail(200_000).splitlines() if "error" in line.lower()]
            results["server_log_errors"] = errors
    finally:
        if not args.keep:
            import shutil
            shutil.rmtree(tmp, ignore_errors=True)
        else:
            print(f"kept {tmp}")
    report(results, args)
    if args.json:
        print(json.dumps(results))
    return results


def report(r: dict, args) -> None:
    e, h, s, rss = r["engine"], r["http"], r["steady"], r["rss"]
    ok = lambda good: "OK" if good else "MISS"  # noqa: E731
    print(f"Orders benchmark: 3-line orders with Idempotency-Key; SQLite journal_mode={r['sqlite']['journal_mode']} "
          f"synchronous={ {0: 'off', 1: 'normal', 2: 'full', 3: 'extra'}.get(r['sqlite']['synchronous'])}; "
          f"{r['cpus']} CPUs; appliance serve: {r['workers']} gthread workers x {r['threads']} threads"
          f"{' + the order writer' if r.get('order_writer') else ''}")
    print(f"  engine, in-process, 1 thread   {e['per_second']:8.0f} orders/s   p50 {e['p50_ms']:6.2f} ms   "
          f"p99 {e['p99_ms']:6.2f} ms   ({e['orders']} orders, {e['cpu_ms_per_order']:.1f} ms CPU each)")
    if "engine_history" in r:
        eh = r["engine_history"]
        print(f"  engine, after {eh['history']} orders of history {eh['per_second']:5.0f} orders/s   p50 {eh['p50_ms']:6.2f} ms   "
              f"p99 {eh['p99_ms']:6.2f} ms   ({eh['cpu_ms_per_order']:.1f} ms CPU each)")
    print(f"  HTTP, {h['clients']} clients, closed loop  {h['per_second']:6.0f} orders/s   p50 {h['p50_ms']:6.2f} ms   "
          f"p99 {h['p99_ms']:6.2f} ms   errors {h['errors'] or 0}   aim >= 600/s: {ok(h['per_second'] >= 600)}")
    print(f"  HTTP / engine                  {h['per_second'] / e['per_second']:8.2f}")
    print(f"  HTTP, steady {s['per_second']:.0f} orders/s (open loop) p50 {s['p50_ms']:6.2f} ms   p99 {s['p99_ms']:6.2f} ms   "
          f"max {s['max_ms']:6.2f} ms   errors {s['errors'] or 0}   aim p99 < 30 ms: {ok(s['p99_ms'] < 30)}")
    workers = ", ".join(f"{w:.0f}" for w in rss["workers"])
    print(f"  RSS after load: master {rss['master']:.0f} MB, workers and writer [{workers}] MB, total {rss['total']:.0f} MB, "
          f"largest process {max(rss['master'], rss['max_worker']):.0f} MB   aim < 150 MB per serving process: "
          f"{ok(max(rss['master'], rss['max_worker']) < 150)}")
    if r.get("server_log_errors"):
        print(f"  server log: {len(r['server_log_errors'])} error lines, first: {r['server_log_errors'][0][:200]}")
    print(f"  CPU during the closed loop: server {h['server_cpu_pct']:.0f}% of one core "
          f"(~{h['server_cpu_ms_per_order']:.1f} ms CPU per order), load generator {h['client_cpu_pct']:.0f}%; "
          f"load average before the run {r['loadavg'][0]:.1f} (others share these {r['cpus']} CPUs)")


if __name__ == "__main__":
    main()
