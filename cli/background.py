"""`appliance serve`'s background process: the box's scheduler in a process of its own.

It runs what `cli.wiring.configure_scheduler` schedules — the scheduled operations (backups,
verifies, retention, drills), the monitors, the replica shipper and Litestream's supervisor —
beside the web workers instead of inside one. Measured in the soak (bench/soak_bench.py, issue 17)
while it lived in a web worker: its ~20 threads took the GIL from that worker's request threads
(order p99 40-80 ms in the minutes jobs ran, 15-30 ms otherwise) and glibc's per-thread arenas
kept that worker's memory growing. Here no request waits for it, and its arenas are bounded
(MALLOC_ARENA_MAX, set by the master for this process only).

The master (cli/serve_cmd.py, with `background`) starts it once the database is migrated and starts it
again if it dies; it stops when the master closes its end of the `alive` pipe (or dies), or on
SIGTERM. The scheduler's flock (appliance/scheduler.py `SingleScheduler`) still makes it one per box
when two `serve` processes share a home, e.g. while one replaces the other.
"""
from __future__ import annotations

import logging
import os
import signal
import sys
import threading
from pathlib import Path

from appliance.processes import PipeLinkedChild, wait_for_end_of_file

log = logging.getLogger(__name__)

# glibc gives each thread that allocates an arena of its own (up to 8 per core) and keeps the pages
# they free: two bound the process's memory at the cost of a little lock contention between its
# threads, which do I/O and wait far more than they allocate.
MALLOC_ARENAS = "2"
# glibc also raises its mmap threshold to the size of each large block freed (up to 32 MB), after
# which the shipper's, the verify's and the monitors' MB-sized buffers come from the heap and leave
# it fragmented (the process peaked at 101 MB and ended 5.3 MB above its second minute in a 30-minute
# soak). A fixed threshold keeps blocks over 256 KiB in mappings of their own, returned when freed.
MALLOC_MMAP_THRESHOLD = str(256 * 1024)


def background(settings) -> PipeLinkedChild:
    """The master's side: the background process, started again if it dies (not yet started)."""
    return PipeLinkedChild("background", "cli.background", settings.home,
                           env={"MALLOC_ARENA_MAX": MALLOC_ARENAS, "MALLOC_MMAP_THRESHOLD_": MALLOC_MMAP_THRESHOLD})


def run(home: Path, alive_fd: int) -> None:
    """The child's side: runs the box's scheduler until the master goes (or SIGTERM)."""
    from appliance import config, runtime
    from appliance.scheduler import SingleScheduler

    from .wiring import configure_scheduler, register_operations, register_settings

    logging.basicConfig(level=logging.INFO, format="[%(asctime)s] [%(process)d] [%(levelname)s] %(name)s: %(message)s",
                        stream=sys.stderr)
    logging.getLogger("apscheduler").setLevel(logging.WARNING)  # a line for every run of every job
    register_settings()
    register_operations()
    settings = config.load(home)
    runtime.connect(settings)
    done = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: done.set())
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C reaches the master, which stops this in order
    threading.Thread(target=lambda: (wait_for_end_of_file(alive_fd), done.set()), name="alive", daemon=True).start()

    scheduler = SingleScheduler(settings.home / "run" / "scheduler.lock",
                                lambda s: configure_scheduler(s, settings))
    scheduler.start()
    log.info("background process %s: the scheduler runs here", os.getpid())
    while not done.wait(1):  # a bare wait() would not let the SIGTERM handler run
        pass
    scheduler.stop()  # and with it Litestream (backup/jobs.py stops it when the scheduler shuts down)
    logging.shutdown()
    # Not a normal exit: it would wait for jobs still running on the scheduler's threads (a monitor
    # probing a dead target); a run in a child process of its own is not stopped by this.
    os._exit(0)


if __name__ == "__main__":
    run(Path(sys.argv[1]), int(sys.argv[2]))
