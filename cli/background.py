"""`appliance serve`'s background process: the box's scheduler in a process of its own.

It runs what `cli.wiring.configure_scheduler` schedules — the scheduled operations (backups,
verifies, retention, drills), the monitors, the replica shipper and Litestream's supervisor —
beside the web workers instead of inside one. Measured in the soak (bench/soak_bench.py, issue 17)
while it lived in a web worker: its ~20 threads took the GIL from that worker's request threads
(order p99 40-80 ms in the minutes jobs ran, 15-30 ms otherwise) and glibc's per-thread arenas
kept that worker's memory growing. Here no request waits for it, and its arenas are bounded
(MALLOC_ARENA_MAX, set by the master for this process only).

The master (cli/serve_cmd.py `Background`) starts it once the database is migrated and starts it
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

from appliance.processes import Backoff, ChildSupervisor

log = logging.getLogger(__name__)

# glibc gives each thread that allocates an arena of its own (up to 8 per core) and keeps the pages
# they free: two bound the process's memory at the cost of a little lock contention between its
# threads, which do I/O and wait far more than they allocate.
MALLOC_ARENAS = "2"


class Background:
    """The master's side: runs the background process beside the workers, again if it dies."""

    def __init__(self, settings):
        self.settings = settings
        # Like the order writer's: the child lives while the master holds the write end of this pipe.
        read_end, self._alive_fd = os.pipe()
        os.set_inheritable(self._alive_fd, False)
        self._read_end: int | None = read_end
        self.child = ChildSupervisor(
            "background", [sys.executable, "-m", "cli.background", str(settings.home), str(read_end)],
            env={**os.environ, "APPLIANCE_HOME": str(settings.home), "MALLOC_ARENA_MAX": MALLOC_ARENAS},
            pass_fds=(read_end,), backoff=Backoff(first=0.5, longest=30), own_session=False)

    def start(self) -> "Background":
        self.child.start()
        return self

    def stop(self, timeout: float = 10) -> None:
        if self._alive_fd is not None:
            os.close(self._alive_fd)
            self._alive_fd = None
        self.child.stop_timeout = timeout
        self.child.stop()
        if self._read_end is not None:
            os.close(self._read_end)
            self._read_end = None


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
    threading.Thread(target=_wait_for_end_of_file, args=(alive_fd, done), name="alive", daemon=True).start()

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


def _wait_for_end_of_file(fd: int, done: threading.Event) -> None:
    while os.read(fd, 1):
        pass
    done.set()


if __name__ == "__main__":
    run(Path(sys.argv[1]), int(sys.argv[2]))
