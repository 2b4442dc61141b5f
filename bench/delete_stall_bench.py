"""Delete-stall benchmark (issue 17): what deleting a large file costs a small writer's fsyncs (the
order writer commits with one fsync of the WAL per transaction) on the file system of `--folder`,
and what deleting it gradually (truncated by --step-mb every --pause-ms, then unlinked) costs instead.

Why: a prune deletes old backup copies (tens of MB each) and Litestream's retention old snapshots;
in the soak the second a prune started had orders of up to 167 ms. On a file system mounted with
`discard` (this machine's root is) the freed blocks are trimmed when the journal commits, and a
commit is what an fsync waits for.

    .venv/bin/python -m bench delete_stall                      # 300 MB, 3 rounds, in /var/tmp
    .venv/bin/python -m bench delete_stall -- --size-mb 100 --folder /var/lib/appliance

Prints, per way of deleting, the fsync latency (p50, p99, max) while the delete runs and for 2 s
after it, and the ratio of the worst fsync (gradual against unlink), over --rounds alternating rounds.
"""
from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import threading
import time
from pathlib import Path

MIB = 1024 * 1024


def make_file(path: Path, size_mb: int) -> None:
    chunk = os.urandom(MIB)
    with open(path, "wb") as f:
        for _ in range(size_mb):
            f.write(chunk)
        f.flush()
        os.fsync(f.fileno())


def delete(path: Path, gradual: bool, step_mb: int, pause: float) -> None:
    if gradual:
        fd = os.open(path, os.O_WRONLY)
        try:
            size = os.fstat(fd).st_size
            while size > 0:
                size = max(0, size - step_mb * MIB)
                os.ftruncate(fd, size)
                time.sleep(pause)
        finally:
            os.close(fd)
    os.unlink(path)


def fsyncs_while(folder: Path, action, settle: float = 2.0) -> list[float]:
    """fsync latencies (ms) of a 4 KiB appending writer every 10 ms while `action` runs and `settle` after."""
    latencies: list[float] = []
    stop = threading.Event()

    def writer() -> None:
        fd = os.open(folder / "wal", os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        try:
            while not stop.is_set():
                os.write(fd, b"x" * 4096)
                started = time.perf_counter()
                os.fsync(fd)
                latencies.append((time.perf_counter() - started) * 1000)
                time.sleep(0.01)
        finally:
            os.close(fd)

    thread = threading.Thread(target=writer)
    thread.start()
    time.sleep(0.5)
    latencies.clear()  # from the action on
    action()
    time.sleep(settle)
    stop.set()
    thread.join()
    return latencies


def summary(values: list[float]) -> str:
    ordered = sorted(values)
    return (f"p50 {statistics.median(ordered):5.1f} ms, p99 {ordered[int(0.99 * (len(ordered) - 1))]:5.1f} ms, "
            f"max {ordered[-1]:6.1f} ms")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size-mb", type=int, default=300)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--step-mb", type=int, default=16)
    parser.add_argument("--pause-ms", type=float, default=50)
    parser.add_argument("--folder", type=Path, default=Path("/var/tmp"))
    args = parser.parse_args(argv)
    worst: dict[str, list[float]] = {"unlink": [], "gradual": []}
    with tempfile.TemporaryDirectory(prefix="delete-stall-", dir=args.folder) as scratch:
        folder = Path(scratch)
        for n in range(args.rounds):
            ways = ["unlink", "gradual"] if n % 2 == 0 else ["gradual", "unlink"]
            for way in ways:
                big = folder / "big"
                make_file(big, args.size_mb)
                time.sleep(1)
                latencies = fsyncs_while(folder, lambda: delete(big, way == "gradual", args.step_mb,
                                                                args.pause_ms / 1000))
                worst[way].append(max(latencies))
                print(f"round {n + 1} {way:<8} {args.size_mb} MB: fsync {summary(latencies)}", flush=True)
    unlink, gradual = statistics.median(worst["unlink"]), statistics.median(worst["gradual"])
    print(f"worst fsync (median of {args.rounds} rounds): unlink {unlink:.1f} ms, gradual ({args.step_mb} MB every "
          f"{args.pause_ms:g} ms) {gradual:.1f} ms; ratio gradual/unlink {gradual / unlink:.2f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
