"""Backup benchmark (issue 3): backs up and restores a generated order database with `appliance
backup run` (local + SFTP + S3, real sshd and `weed mini` on loopback) and, in the same run, the same
database with restic and borg to a local repository. Prints times, stored bytes, peak RSS and ratios.

Aims: our backup to local+SFTP+S3 no slower than restic to one local repo; restore of 1 GB under
30 s; RSS under 200 MB during a 1 GB backup.

    .venv/bin/python -m bench.backup_bench                 # 1 GB (a few minutes)
    .venv/bin/python -m bench.backup_bench --size-mb 100   # quick (or: python -m bench backup -- --size-mb 100)
    .venv/bin/python -m bench.backup_bench --generate-only PATH.db --size-mb 1024

restic and borg come from Debian (`apt-get install restic borgbackup`, done here when missing).
"""
from __future__ import annotations

import argparse
import hashlib
import json
import os
import random
import resource
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

import psutil

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

MIB = 1024 * 1024
FIRST = ["Anna", "Ben", "Chloe", "David", "Emma", "Farid", "Greta", "Hugo", "Ines", "Jonas", "Karin", "Luca",
         "Mia", "Noah", "Olga", "Paul", "Rosa", "Sami", "Tina", "Umar", "Vera", "Wim", "Yara", "Zoe"]
LAST = ["Smith", "Müller", "Rossi", "Dubois", "Novak", "Jansen", "García", "Kowalski", "Berg", "Silva",
        "Nowak", "Fischer", "Lindqvist", "Moreau", "Costa", "Schmidt", "Horvat", "Olsen", "Weber", "Petrov"]
STREETS = ["High Street", "Station Road", "Church Lane", "Mill Road", "Park Avenue", "Market Square",
           "Bridge Street", "Victoria Road", "Green Lane", "Kings Road", "Queen Street", "Harbour Way"]
CITIES = ["Leeds LS1", "Bristol BS2", "York YO1", "Bath BA1", "Oxford OX1", "Exeter EX4", "Derby DE1", "Hull HU1"]
WORDS = ["tea", "coffee", "mug", "oat", "honey", "jam", "bread", "soap", "candle", "card", "towel", "bag",
         "green", "black", "large", "small", "organic", "classic", "gift", "set", "blue", "red", "fresh"]
NOTES = [None, None, None, None, "leave at the door", "call on arrival", "gift wrap please", "fragile",
         "deliver after 5pm", "ring the bell twice", "customer collects in store", "same as last time"]
CARRIERS = ["dpd", "royal-mail", "ups", "dhl", "evri"]
CHANNELS = ["store", "web", "phone", "marketplace"]


# -- the generator ------------------------------------------------------------------------------------

def generate(db_path: Path, size_mb: int, seed: int = 1, quiet: bool = False) -> dict:
    """An order database of about `size_mb`: the real schema (appliance.schema.migrate), realistic rows
    (products, customers, orders with lines, order events, stock movements, audit events in a hash
    chain), bulk-inserted in large transactions. Returns row counts."""
    from appliance import runtime
    from cli.wiring import extra_models
    from appliance.db import init_database
    from appliance.schema import migrate

    db_path.parent.mkdir(parents=True, exist_ok=True)
    for suffix in ("", "-wal", "-shm"):
        Path(f"{db_path}{suffix}").unlink(missing_ok=True)
    init_database(f"sqlite:///{db_path}", db_path.parent)
    migrate(extra_models())
    runtime.close()

    rnd = random.Random(seed)
    conn = sqlite3.connect(db_path, isolation_level=None)
    conn.execute("PRAGMA journal_mode=OFF")
    conn.execute("PRAGMA synchronous=OFF")
    conn.execute("PRAGMA cache_size=-262144")
    start = datetime(2024, 1, 1)
    counts = {"products": 5000, "customers": 100_000, "orders": 0, "order_lines": 0}

    def ts(dt: datetime) -> str:
        return dt.strftime("%Y-%m-%d %H:%M:%S.%f")

    conn.execute("BEGIN")
    products = []
    for i in range(1, counts["products"] + 1):
        name = " ".join(rnd.choice(WORDS) for _ in range(3)).title()
        price = rnd.randrange(99, 9999)
        products.append((i, f"SKU-{i:05d}", f"50{rnd.randrange(10**10, 10**11)}", name, price, price // 2,
                         rnd.randrange(0, 50), rnd.randrange(0, 200), 1, ts(start), ts(start)))
    conn.executemany("INSERT INTO product (id, sku, barcode, name, price_cents, cost_cents, reorder_point, reorder_qty, "
                     "active, created_at, updated_at) VALUES (?,?,?,?,?,?,?,?,?,?,?)", products)
    prices = [p[4] for p in products]
    conn.executemany("INSERT INTO stock_level (product_id, location_id, on_hand, reserved) VALUES (?,1,?,?)",
                     [(i, rnd.randrange(20, 5000), rnd.randrange(0, 20)) for i in range(1, counts["products"] + 1)])
    conn.executemany("INSERT INTO customer (id, name, phone, email, address, created_at) VALUES (?,?,?,?,?,?)", [
        (i, f"{rnd.choice(FIRST)} {rnd.choice(LAST)}", f"+44 7{rnd.randrange(10**8, 10**9)}",
         f"customer{i}@example.{rnd.choice(['com', 'org', 'net'])}",
         f"{rnd.randrange(1, 300)} {rnd.choice(STREETS)}\n{rnd.choice(CITIES)} {rnd.randrange(1, 9)}AB",
         ts(start)) for i in range(1, counts["customers"] + 1)])
    conn.execute("COMMIT")

    order_id = line_id = event_id = move_id = audit_id = 0
    from appliance.schema import GENESIS_HASH
    prev_hash = conn.execute("SELECT last_hash FROM audit_head WHERE id = 1").fetchone()
    prev_hash = prev_hash[0] if prev_hash else GENESIS_HASH
    target = size_mb * MIB
    page_size = conn.execute("PRAGMA page_size").fetchone()[0]
    t0 = time.monotonic()
    while conn.execute("PRAGMA page_count").fetchone()[0] * page_size < target:
        orders_rows, lines, events, moves, audits = [], [], [], [], []
        for _ in range(5000):
            order_id += 1
            created = start + timedelta(seconds=order_id * 20 + rnd.randrange(20))
            status = rnd.choices(["delivered", "shipped", "confirmed", "cancelled", "returned", "pending"],
                                 [60, 15, 12, 6, 3, 4])[0]
            total = 0
            for _ in range(rnd.choice((1, 1, 2, 2, 3, 4, 6))):
                line_id += 1
                product = rnd.randrange(1, counts["products"] + 1)
                qty = rnd.choice((1, 1, 1, 2, 2, 3, 5, 10))
                lines.append((line_id, order_id, product, qty, prices[product - 1], prices[product - 1] * qty))
                total += prices[product - 1] * qty
                move_id += 1
                moves.append((move_id, product, 1, "reserve", 0, qty, line_id, f"order SO-{order_id:06d}",
                              "till-1", ts(created)))
                if status in ("shipped", "delivered", "returned"):
                    move_id += 1
                    moves.append((move_id, product, 1, "ship", -qty, -qty, line_id, f"order SO-{order_id:06d}",
                                  "warehouse", ts(created + timedelta(hours=20))))
            shipped = status in ("shipped", "delivered", "returned")
            orders_rows.append((
                order_id, f"SO-{order_id:06d}", rnd.choice(CHANNELS), status,
                rnd.randrange(1, counts["customers"] + 1) if rnd.random() < 0.7 else None, rnd.choice(NOTES), total,
                '["amount over limit"]' if status == "pending" else "[]",
                rnd.choice(CARRIERS) if shipped else None,
                f"{rnd.randrange(16**11, 16**12):x}".upper() if shipped else None,
                rnd.choice(["till-1", "till-2", "api:webshop", "anna", "ben"]), ts(created),
                ts(created + timedelta(hours=30)), ts(created) if status != "pending" else None,
                ts(created + timedelta(hours=20)) if shipped else None,
                ts(created + timedelta(hours=44)) if status in ("delivered", "returned") else None,
                ts(created + timedelta(hours=2)) if status == "cancelled" else None,
                ts(created + timedelta(days=9)) if status == "returned" else None))
            for frm, to in ((None, "confirmed"), ("confirmed", status)):
                event_id += 1
                events.append((event_id, order_id, frm, to, "till-1", None, ts(created)))
            audit_id += 1
            after = json.dumps({"number": f"SO-{order_id:06d}", "status": status, "total_cents": total},
                               separators=(",", ":"), sort_keys=True)
            event = json.dumps([created.isoformat(timespec="microseconds"), "till-1", "order.create", "order",
                                str(order_id), "", after], separators=(",", ":"))  # appliance.audit's chain
            digest = hashlib.sha256((prev_hash + event).encode()).hexdigest()
            audits.append((audit_id, ts(created), "till-1", "order.create", "order", str(order_id), None, after,
                           prev_hash, digest))
            prev_hash = digest
        conn.execute("BEGIN")
        conn.executemany("INSERT INTO orders (id, number, channel, status, customer_id, note, total_cents, "
                           "pending_reasons, carrier, tracking_number, created_by, created_at, updated_at, "
                           "confirmed_at, shipped_at, delivered_at, cancelled_at, returned_at) "
                           "VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)", orders_rows)
        conn.executemany("INSERT INTO order_line (id, order_id, product_id, qty, unit_price_cents, line_total_cents) "
                           "VALUES (?,?,?,?,?,?)", lines)
        conn.executemany("INSERT INTO order_event (id, order_id, from_status, to_status, actor, note, at) "
                           "VALUES (?,?,?,?,?,?,?)", events)
        conn.executemany("INSERT INTO stock_movement (id, product_id, location_id, kind, on_hand_delta, reserved_delta, "
                           "order_line_id, reference, actor, created_at) VALUES (?,?,?,?,?,?,?,?,?,?)", moves)
        conn.executemany("INSERT INTO audit_event (id, at, actor, action, entity, entity_id, before, after, prev_hash, hash) "
                           "VALUES (?,?,?,?,?,?,?,?,?,?)", audits)
        conn.execute("INSERT OR REPLACE INTO audit_head (id, last_id, last_hash) VALUES (1, ?, ?)", (audit_id, prev_hash))
        conn.execute("COMMIT")
        if not quiet and order_id % 100_000 == 0:
            done = conn.execute("PRAGMA page_count").fetchone()[0] * page_size
            print(f"  generating: {done / MIB:.0f} / {size_mb} MiB, {order_id} orders, "
                  f"{time.monotonic() - t0:.0f} s", file=sys.stderr)
    # An opening balance per stock level, so the ledger's sums equal the levels, as in a real shop
    # (a drill's verify steps check it).
    conn.execute("BEGIN")
    conn.execute("""INSERT INTO stock_movement (product_id, location_id, kind, on_hand_delta, reserved_delta,
                        order_line_id, reference, actor, created_at)
                    SELECT l.product_id, l.location_id, 'adjust',
                           l.on_hand - COALESCE(m.on_hand, 0), l.reserved - COALESCE(m.reserved, 0),
                           NULL, 'opening balance', 'bench', ?
                    FROM stock_level l LEFT JOIN (
                        SELECT product_id, location_id, SUM(on_hand_delta) AS on_hand, SUM(reserved_delta) AS reserved
                        FROM stock_movement GROUP BY product_id, location_id) m
                      ON m.product_id = l.product_id AND m.location_id = l.location_id""", (ts(start),))
    conn.execute("COMMIT")
    conn.execute("PRAGMA journal_mode=WAL")
    conn.close()
    counts.update(orders=order_id, order_lines=line_id, order_events=event_id, stock_movements=move_id,
                  audit_events=audit_id)
    return counts


# -- measuring ---------------------------------------------------------------------------------------

@dataclass
class Measured:
    seconds: float
    peak_rss: int
    output: str
    cpu_seconds: float  # user + system of the command and the processes it waited for


def measured(command: list[str], env: dict | None = None, cwd: Path | None = None) -> Measured:
    """Runs `command`, sampling the RSS of it and its children every 50 ms; fails loudly on error."""
    start, cpu_before = time.monotonic(), _children_cpu()
    proc = subprocess.Popen(command, env=env, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    peak = 0
    done = threading.Event()

    def sample() -> None:
        nonlocal peak
        try:
            me = psutil.Process(proc.pid)
        except psutil.NoSuchProcess:
            return
        children: list[psutil.Process] = []
        listed = 0.0
        while not done.is_set():
            try:
                if time.monotonic() - listed > 1:  # listing children scans /proc: not every sample
                    children, listed = me.children(recursive=True), time.monotonic()
                rss = me.memory_info().rss
                for child in children:
                    try:
                        rss += child.memory_info().rss
                    except psutil.Error:
                        pass
                peak = max(peak, rss)
            except psutil.Error:
                pass
            done.wait(0.05)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    output = proc.communicate()[0].decode(errors="replace")
    done.set()
    sampler.join()
    seconds = time.monotonic() - start
    if proc.returncode != 0:
        raise SystemExit(f"{' '.join(command[:4])} failed ({proc.returncode}):\n{output[-2000:]}")
    return Measured(seconds, peak, output, _children_cpu() - cpu_before)


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def server_cpu(pid: int) -> float:
    """CPU seconds of a server process and of the children it has reaped (sshd's sessions)."""
    t = psutil.Process(pid).cpu_times()
    return t.user + t.system + t.children_user + t.children_system


def tree_bytes(path: Path) -> int:
    return sum(f.stat().st_size for f in path.rglob("*") if f.is_file())


def ensure_tools() -> None:
    missing = [pkg for tool, pkg in (("restic", "restic"), ("borg", "borgbackup")) if not shutil.which(tool)]
    if missing:
        print(f"installing {' '.join(missing)} with apt-get", file=sys.stderr)
        subprocess.run(["apt-get", "install", "-y", "-q", *missing], check=True,
                       stdout=subprocess.DEVNULL, env={**os.environ, "DEBIAN_FRONTEND": "noninteractive"})


def tool_version(command: list[str]) -> str:
    try:
        return subprocess.run(command, capture_output=True, text=True).stdout.split("\n")[0].strip()
    except OSError:
        return "?"


# -- the benchmark -----------------------------------------------------------------------------------

def median_run(runs: list[Measured]) -> Measured:
    return sorted(runs, key=lambda m: m.seconds)[len(runs) // 2]


def run(size_mb: int, workdir: Path, repeat: int) -> None:
    from appliance import config
    from tests.backup.helpers import local_target, s3_target, sftp_target, write_targets
    from tests.conftest import make_home
    from tests.servers.s3 import start_s3
    from tests.servers.sshd import start_sshd

    ensure_tools()
    home = make_home(workdir / "home")
    db = home / "appliance.db"
    t0 = time.monotonic()
    counts = generate(db, size_mb)
    gen_seconds = time.monotonic() - t0
    db_bytes = db.stat().st_size
    print(f"generated {db_bytes / MIB:.0f} MiB in {gen_seconds:.0f} s: {counts}", file=sys.stderr)

    appliance = str(Path(sys.executable).parent / "appliance")
    env = {**os.environ, "APPLIANCE_HOME": str(home)}
    # restic and borg: the same (idle, checkpointed) database file, to one local repository each.
    tools_env = {**os.environ, "RESTIC_PASSWORD": "bench-password", "BORG_PASSPHRASE": "bench-password",
                 "BORG_UNKNOWN_UNENCRYPTED_REPO_ACCESS_IS_OK": "yes", "BORG_RELOCATED_REPO_ACCESS_IS_OK": "yes"}
    src = workdir / "src"
    src.mkdir()
    shutil.copy(db, src / "appliance.db")
    sshd = start_sshd(workdir / "sshd")
    s3 = start_s3(workdir / "s3")
    ours_runs, restic_runs, server_runs = [], [], []
    try:
        bucket = s3.new_bucket()
        three = [local_target("disk", workdir / "disk"), sftp_target("nas", sshd, "shop"),
                 {**s3_target("offsite", s3, bucket, home), "timeout_seconds": 60}]
        write_targets(home, three)
        config.load(home)  # the config is valid before anything is timed
        subprocess.run([appliance, "backup", "list"], env=env, check=True, capture_output=True)  # migrate catalog

        # The first backup into fresh servers also pays for their setup (weed allocates its volumes,
        # the folders are made): a long-lived NAS and bucket do that once. It is run, shown, not counted.
        warm_up = measured([appliance, "backup", "run", "--quiet"], env)
        stored = {"disk": tree_bytes(workdir / "disk"), "nas": tree_bytes(sshd.root / "shop"),  # one backup
                  "offsite": sum(o["Size"] for o in s3.client().list_objects_v2(Bucket=bucket).get("Contents", []))}
        # This VM's speed swings by a third from one minute to the next: ours and restic take turns,
        # `repeat` times each, and their medians are compared.
        for i in range(repeat):
            servers_before = server_cpu(sshd.process.pid), server_cpu(s3.process.pid)
            ours_runs.append(measured([appliance, "backup", "run", "--quiet"], env))
            server_runs.append((server_cpu(sshd.process.pid) - servers_before[0],
                                server_cpu(s3.process.pid) - servers_before[1]))
            repo = workdir / f"restic-repo-{i}"  # a fresh repository each time: nothing to deduplicate against
            subprocess.run(["restic", "init", "-q", "--repo", str(repo)], env=tools_env, check=True, capture_output=True)
            restic_runs.append(measured(["restic", "backup", "-q", "--repo", str(repo), "appliance.db"],
                                        tools_env, cwd=src))
        # Like for like with restic: one copy, to a local folder only.
        write_targets(home, [local_target("disk", workdir / "disk-only")])
        local_only = measured([appliance, "backup", "run", "--quiet"], env)
        write_targets(home, three)
        restores = {}
        for target in ("disk", "nas", "offsite"):
            out = workdir / f"restored-{target}.db"
            restores[target] = measured([appliance, "restore", "--target", target, "--output", str(out), "--quiet"], env)
            out.unlink()
    finally:
        sshd.stop()
        s3.stop()

    ours, restic_b = median_run(ours_runs), median_run(restic_runs)
    sshd_cpu, s3_cpu = server_runs[ours_runs.index(ours)]
    restic_repo, borg_repo = workdir / "restic-repo-0", workdir / "borg-repo"
    restic_r = measured(["restic", "restore", "latest", "-q", "--repo", str(restic_repo), "--target",
                         str(workdir / "restic-out")], tools_env)
    subprocess.run(["borg", "init", "-e", "repokey", str(borg_repo)], env=tools_env, check=True, capture_output=True)
    borg_b = measured(["borg", "create", f"{borg_repo}::bench", "appliance.db"], tools_env, cwd=src)
    (workdir / "borg-out").mkdir()
    borg_r = measured(["borg", "extract", f"{borg_repo}::bench"], tools_env, cwd=workdir / "borg-out")
    restic_bytes, borg_bytes = tree_bytes(restic_repo), tree_bytes(borg_repo)

    per_copy = stored["disk"]
    total_stored = sum(stored.values())
    rows = [
        ("backup", "ours: local+SFTP+S3 (3 copies), median", ours.seconds, total_stored, ours.peak_rss),
        ("backup", "ours: local only (1 copy)", local_only.seconds, per_copy, local_only.peak_rss),
        ("backup", f"restic ({tool_version(['restic', 'version']).split(' compiled')[0]}), local, median",
         restic_b.seconds, restic_bytes, restic_b.peak_rss),
        ("backup", f"borg ({tool_version(['borg', '--version'])}, lz4), local repo", borg_b.seconds, borg_bytes,
         borg_b.peak_rss),
        ("restore", "ours: from local", restores["disk"].seconds, None, restores["disk"].peak_rss),
        ("restore", "ours: from SFTP", restores["nas"].seconds, None, restores["nas"].peak_rss),
        ("restore", "ours: from S3", restores["offsite"].seconds, None, restores["offsite"].peak_rss),
        ("restore", "restic: local repo", restic_r.seconds, None, restic_r.peak_rss),
        ("restore", "borg: local repo", borg_r.seconds, None, borg_r.peak_rss),
    ]
    print_table(db_bytes, counts, rows, restic_b.seconds, restic_bytes, restic_r.seconds)
    print()
    aims = [
        (f"our backup to local+SFTP+S3 (median {ours.seconds:.1f} s) no slower than restic to one local repo "
         f"(median {restic_b.seconds:.1f} s)", ours.seconds <= restic_b.seconds),
        (f"restore of {db_bytes / MIB:.0f} MiB under 30 s (slowest target {max(r.seconds for r in restores.values()):.1f} s)",
         max(r.seconds for r in restores.values()) < 30 * max(1.0, db_bytes / (1024 * MIB))),
        (f"peak RSS during the backup under 200 MB ({ours.peak_rss / 1e6:.0f} MB)", ours.peak_rss < 200e6),
    ]
    print(f"backup runs, taking turns (s), after an untimed first backup of ours ({warm_up.seconds:.1f} s): "
          f"ours {' '.join(f'{m.seconds:.1f}' for m in ours_runs)}; "
          f"restic {' '.join(f'{m.seconds:.1f}' for m in restic_runs)}")
    for text, met in aims:
        print(f"{'MET    ' if met else 'NOT MET'}  {text}")
    phases = [line for line in ours.output.splitlines() if line.startswith("timings")]
    if phases:  # from `backup run`: when the snapshot, the payload and each copy were done
        print(f"\nour backup, {phases[0]}; {ours.seconds:.1f} s in all (the rest: interpreter start, "
              "imports, catalog)")
    print(f"CPU seconds during the backups: ours {ours.cpu_seconds:.1f}, and on the same {os.cpu_count()} cores "
          f"the SFTP server (sshd) {sshd_cpu:.1f} and the S3 server (weed mini) {s3_cpu:.1f}; "
          f"restic {restic_b.cpu_seconds:.1f}, borg {borg_b.cpu_seconds:.1f}")


def print_table(db_bytes: int, counts: dict, rows: list[tuple], restic_backup: float, restic_bytes: int,
                restic_restore: float) -> None:
    print(f"\ndatabase: {db_bytes / MIB:.0f} MiB, {counts['orders']:,} orders, {counts['order_lines']:,} lines, "
          f"{counts['audit_events']:,} audit events, {counts['stock_movements']:,} stock movements")
    head = f"{'':8} {'what':44} {'time s':>8} {'MiB/s':>7} {'stored MiB':>11} {'peak RSS MB':>12} {'time/restic':>12} {'bytes/restic':>13}"
    print(head)
    print("-" * len(head))
    for kind, what, seconds, stored, rss in rows:
        ref_time = restic_backup if kind == "backup" else restic_restore
        cells = [
            f"{seconds:8.1f}" if seconds is not None else f"{'':>8}",
            f"{db_bytes / MIB / seconds:7.0f}" if seconds else f"{'':>7}",
            f"{stored / MIB:11.1f}" if stored is not None else f"{'':>11}",
            f"{rss / 1e6:12.0f}" if rss else f"{'':>12}",
            f"{seconds / ref_time:12.2f}" if seconds is not None else f"{'':>12}",
            f"{stored / restic_bytes:13.2f}" if stored is not None else f"{'':>13}",
        ]
        print(f"{kind:8} {what[:44]:44} " + " ".join(cells))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size-mb", type=int, default=1024, help="Size of the generated database (default 1024).")
    parser.add_argument("--workdir", type=Path, default=None, help="Where to work (default: a temp folder, removed).")
    parser.add_argument("--keep", action="store_true", help="Keep the work folder.")
    parser.add_argument("--repeat", type=int, default=3, help="Backups by us and by restic, taking turns (default 3).")
    parser.add_argument("--generate-only", type=Path, metavar="DB", help="Only generate a database at DB.")
    args = parser.parse_args()
    if args.generate_only:
        print(generate(args.generate_only.resolve(), args.size_mb))
        return
    workdir = (args.workdir or Path(tempfile.mkdtemp(prefix="backup-bench-"))).resolve()
    workdir.mkdir(parents=True, exist_ok=True)
    try:
        run(args.size_mb, workdir, args.repeat)
    finally:
        if not args.keep:
            shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
