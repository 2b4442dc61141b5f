"""Delete-stall benchmark (issue 17): what deleting a large file costs a small writer's fsyncs (the
order writer commits with one fsync of the WAL per transaction) on the file system of `--folder`,
what deleting it gradually (truncated by --step-mb every --pause-ms, then unlinked) costs instead, and
what the local target's own delete costs (`target`: LocalTarget.delete, the path a prune takes:
renamed into `.deleting/`, leased, truncated at the same pace, unlinked; backup/gradual_delete.py).

Why: a prune deletes old backup copies (tens of MB each) and Litestream's retention old snapshots;
in the soak the second a prune started had orders of up to 167 ms. On a file system mounted with
`discard` (this machine's root is) the freed blocks are trimmed when the journal commits, and a
commit is what an fsync waits for.

    .venv/bin/python -m bench delete_stall                      # 300 MB, 3 rounds, in /var/tmp
    .venv/bin/python -m bench delete_stall -- --size-mb 100 --folder /var/lib/appliance
    .venv/bin/python -m bench delete_stall -- --ways unlink,target  # only the prune's path against unlink

Prints, per way of deleting, the fsync latency (p50, p99, max) while the delete runs and for 2 s
after it, and the ratio of the worst fsync (each way against unlink), over --rounds rounds (the order
of the ways rotates from round to round).
"""
from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from appliance.config import Settings  # noqa: E402
from backup.settings import LocalTargetSettings  # noqa: E402
from backup.targets.local import LocalTarget  # noqa: E402

MIB = 1024 * 1024
WAYS = ("unlink", "gradual", "target")


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


def local_target(folder: Path, step_mb: int, pause: float) -> LocalTarget:
    """A local target rooted in `folder`, deleting at the bench's pace (its defaults: 16 MB, 50 ms)."""
    target = LocalTarget(LocalTargetSettings(name="bench", kind="local", path=str(folder), medium="disk"),
                         Settings(home=folder))
    target.delete_pace = {"step_bytes": step_mb * MIB, "pause": pause}
    return target


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
    parser.add_argument("--ways", default=",".join(WAYS),
                        help="unlink (at once), gradual (this file's loop), target (LocalTarget.delete)")
    args = parser.parse_args(argv)
    ways = [w for w in args.ways.split(",") if w]
    if "unlink" not in ways or set(ways) - set(WAYS):
        parser.error(f"--ways: unlink and any of {', '.join(WAYS[1:])}")
    pause = args.pause_ms / 1000
    worst: dict[str, list[float]] = {way: [] for way in ways}
    with tempfile.TemporaryDirectory(prefix="delete-stall-", dir=args.folder) as scratch:
        folder = Path(scratch)
        target = local_target(folder / "target", args.step_mb, pause)
        for n in range(args.rounds):
            for way in ways[n % len(ways):] + ways[:n % len(ways)]:
                if way == "target":  # a backup's payload, as a prune finds it
                    (target.root / "b1").mkdir(parents=True, exist_ok=True)
                    big = target.root / "b1" / "payload.zst.aes"
                    action = lambda: target.delete("b1/payload.zst.aes")  # noqa: E731
                else:
                    big = folder / "big"
                    action = lambda: delete(big, way == "gradual", args.step_mb, pause)  # noqa: E731
                make_file(big, args.size_mb)
                time.sleep(1)
                latencies = fsyncs_while(folder, action)
                assert not big.exists()
                worst[way].append(max(latencies))
                print(f"round {n + 1} {way:<8} {args.size_mb} MB: fsync {summary(latencies)}", flush=True)
    unlink = statistics.median(worst["unlink"])
    figures = [f"unlink {unlink:.1f} ms"]
    ratios = []
    for way in ways:
        if way == "unlink":
            continue
        value = statistics.median(worst[way])
        figures.append(f"{way} ({args.step_mb} MB every {args.pause_ms:g} ms) {value:.1f} ms")
        ratios.append(f"ratio {way}/unlink {value / unlink:.2f}")
    print(f"worst fsync (median of {args.rounds} rounds): {', '.join(figures)}; {', '.join(ratios)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
