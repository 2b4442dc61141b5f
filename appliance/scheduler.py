"""Exactly one APScheduler per box, whatever the number of web workers or `serve` processes.

`appliance serve` runs a `SingleScheduler` in its background process (cli/background.py); the
process that holds an exclusive flock on the home's run/scheduler.lock runs the jobs. If it dies,
the kernel drops its lock and the next claimant (the background process started again, or a
second `serve` on the same home) takes over within `retry_seconds`. Packages put their registered operations on a cron with
`schedule_operation` (backups, verifies, retention, drills): one way to schedule an operation.
"""
from __future__ import annotations

import fcntl
import json
import logging
import os
import threading
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Callable

import peewee
from apscheduler.schedulers.background import BackgroundScheduler
from peewee import fn

from . import clock
from .db import database
from .models import KeyValue, OperationRun, utcnow

log = logging.getLogger(__name__)
HEARTBEAT_KEY = "scheduler_heartbeat"


# APScheduler skips (with a warning) a run that starts more than misfire_grace_time late, 1 s by
# default: on a busy box starting up, the jobs due "now" started 1.06 s late and were dropped. A
# late run is still wanted; coalesce makes several missed ones a single run.
JOB_DEFAULTS = {"coalesce": True, "max_instances": 1, "misfire_grace_time": 60}


class SingleScheduler:
    def __init__(self, lock_path: Path, configure: Callable[[BackgroundScheduler], None], retry_seconds: float = 5):
        self.lock_path = Path(lock_path)
        self.configure = configure
        self.retry_seconds = retry_seconds
        self.scheduler: BackgroundScheduler | None = None
        self._lock_file = None
        self._stop = threading.Event()
        self._started = threading.Event()
        # start and stop of the APScheduler never interleave (it reports running before its thread starts)
        self._guard = threading.Lock()
        self._thread = threading.Thread(target=self._run, name="scheduler-claim", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        with self._guard:
            self._stop.set()
            if self._started.is_set():
                self.scheduler.shutdown(wait=False)
                self._started.clear()
            if self._lock_file is not None:
                self._lock_file.close()  # releases the flock
                self._lock_file = None

    @property
    def running(self) -> bool:
        return self._started.is_set()

    def _run(self) -> None:
        while not self._stop.is_set():
            with self._guard:
                if self._stop.is_set():
                    return
                if self._try_lock():
                    self.scheduler = BackgroundScheduler(timezone="UTC", job_defaults=JOB_DEFAULTS)
                    self.configure(self.scheduler)
                    self.scheduler.add_job(release_free_memory, "interval", seconds=RELEASE_MEMORY_SECONDS,
                                           id="release-free-memory", replace_existing=True)
                    self.scheduler.start()
                    self._started.set()
                    log.info("scheduler running in pid %s", os.getpid())
                    if os.environ.get(TRACEMALLOC_ENV):
                        trace_memory(Path(os.environ[TRACEMALLOC_ENV]), self._stop)
                    return
            self._stop.wait(self.retry_seconds)

    def _try_lock(self) -> bool:
        self.lock_path.parent.mkdir(parents=True, exist_ok=True)
        f = open(self.lock_path, "a+")
        try:
            fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            f.close()
            return False
        f.seek(0)
        f.truncate()
        f.write(f"{os.getpid()}\n")
        f.flush()
        self._lock_file = f
        return True


# The process holding the scheduler also runs the replica shipper and the monitors (about 20
# threads): glibc gives each thread's allocations an arena of its own (cli/background.py caps them
# with MALLOC_ARENA_MAX), and the pages they free stay with the process. Measured in the soak (bench/soak_bench.py): its RSS grew ~1 MB a
# minute while its Python objects (tracemalloc) stayed flat and malloc's free-but-kept bytes grew.
RELEASE_MEMORY_SECONDS = 60
_libc = None


def release_free_memory() -> bool:
    """Gives the pages malloc holds free back to the system (glibc's malloc_trim, every arena);
    False where there is no glibc."""
    global _libc
    try:
        if _libc is None:
            import ctypes
            _libc = ctypes.CDLL("libc.so.6")
        _libc.malloc_trim(0)
        return True
    except (OSError, AttributeError):
        return False


# bench/soak_bench.py --tracemalloc: the scheduler's process writes a tracemalloc snapshot to this
# folder every TRACEMALLOC_SECONDS, to find what grows in it over hours (issue 17). Off by default.
TRACEMALLOC_ENV = "APPLIANCE_TRACEMALLOC"
TRACEMALLOC_SECONDS = 30


def trace_memory(folder: Path, stop: threading.Event, every: float = TRACEMALLOC_SECONDS) -> threading.Thread:
    import tracemalloc
    folder.mkdir(parents=True, exist_ok=True)
    tracemalloc.start(4)

    def dump() -> None:
        n = 0
        while not stop.wait(every):
            n += 1
            snapshot = tracemalloc.take_snapshot().filter_traces([tracemalloc.Filter(False, tracemalloc.__file__)])
            snapshot.dump(str(folder / f"{os.getpid()}-{n:05d}.snapshot"))
            with open(folder / f"{os.getpid()}-memory.jsonl", "a") as out:
                out.write(json.dumps({"at": time.time(), "n": n, "traced": tracemalloc.get_traced_memory()[0],
                                      **_malloc_info()}) + "\n")
        tracemalloc.stop()
    thread = threading.Thread(target=dump, name="tracemalloc", daemon=True)
    thread.start()
    return thread


def _malloc_info() -> dict:
    """The process's RSS and glibc's heap (mallinfo2): bytes in use and bytes free but kept; {} elsewhere."""
    import ctypes
    import resource
    out = {}
    try:
        with open("/proc/self/statm") as f:
            out["rss"] = int(f.read().split()[1]) * resource.getpagesize()
        libc = ctypes.CDLL("libc.so.6")

        class MallInfo2(ctypes.Structure):
            _fields_ = [(name, ctypes.c_size_t) for name in (
                "arena", "ordblks", "smblks", "hblks", "hblkhd", "usmblks", "fsmblks", "uordblks", "fordblks",
                "keepcost")]
        libc.mallinfo2.restype = MallInfo2
        info = libc.mallinfo2()
        out.update(malloc_in_use=info.uordblks + info.hblkhd, malloc_free=info.fordblks, malloc_arena=info.arena)
    except (OSError, AttributeError, ValueError):
        pass
    return out


class StartSpacing:
    """Background runs the scheduler starts begin at least `seconds` apart, never in the same second.

    Schedules coincide (an hourly backup and a verify at 03:00; a backup every minute and a verify
    every two; catch-ups after a restart), and every start costs a Python process starting and a job
    opening the database and its files: measured on a 2-core box, order p99 went from 15 ms to
    256 ms in the seconds when three started together. `wait_turn` hands out start slots in order
    (first come, first served) and sleeps the calling scheduler thread until its slot; jobs run on
    the scheduler's thread pool, so a wait of a few slots holds nothing else up.
    """

    def __init__(self, seconds: float):
        self.seconds = seconds
        self._lock = threading.Lock()
        self._next = 0.0  # time.monotonic() of the next free slot

    def wait_turn(self) -> float:
        """Waits until this caller may start; returns the slot's time.monotonic()."""
        with self._lock:
            now = time.monotonic()
            slot = max(now, self._next)
            self._next = slot + self.seconds
        if slot > now:
            time.sleep(slot - now)
        return slot


# One per process, and there is one scheduler per box: every scheduled background run of the box
# starts through it (backup/jobs.py).
BACKGROUND_START_SPACING_SECONDS = 10
background_starts = StartSpacing(BACKGROUND_START_SPACING_SECONDS)


def with_db(job: Callable[[], None]) -> Callable[[], None]:
    """Jobs run on scheduler threads: each run opens and closes its own connection."""
    def run() -> None:
        with database.connection_context():
            job()
    run.__name__ = getattr(job, "__name__", "job")
    return run


def write_heartbeat() -> None:
    """Proves the scheduler is alive (the monitors' scheduler-liveness check reads it)."""
    KeyValue.put(HEARTBEAT_KEY, utcnow().isoformat())


# -- registered operations on a cron schedule -------------------------------------------------------

# A scheduled run refused because its exclusive group is busy (a prune while a long backup runs, or
# the reverse) is tried again this much later, unless its schedule comes sooner: a daily prune that
# met a backup does not wait a day.
BUSY_RETRY = timedelta(minutes=5)


# -- the primary's duties ----------------------------------------------------------------------
# On a pair of boxes, the scheduled jobs that act for the shop (backups, verifies, retention, drills)
# are the primary's: a standby's own database is not the shop's, and on a PostgreSQL pair both boxes
# write through one URL to the same primary, so a job would run twice. Whoever knows which box is the
# primary says so here: the write permit (a lease pair, below) and what a package registers (the
# failover package registers Patroni's answer).

_not_primary_checks: dict[str, Callable[[object], str | None]] = {}


def register_not_primary_check(name: str, check: Callable[[object], str | None]) -> None:
    """check(settings) returns why this box is not the pair's primary now, or None."""
    _not_primary_checks[name] = check


def not_the_primary(settings) -> str | None:
    """Why this box skips the primary's scheduled jobs now; None on a single box and on the primary."""
    from . import fencing
    permit = fencing.read_permit(settings.home)
    refusal = permit.refusal() if permit is not None else None
    if refusal:
        return f"this box may not write ({refusal.rstrip('.')}): the primary of the pair runs this"
    for check in list(_not_primary_checks.values()):
        reason = check(settings)
        if reason:
            return reason
    return None


def schedule_operation(scheduler: BackgroundScheduler, settings, name: str, params: dict, cron: str,
                       missed_delay: timedelta, job_id: str | None = None,
                       skip_when: Callable[[], str | None] | None = None) -> str:
    """Starts the registered operation `name` on `cron` (UTC) in the background (a child process,
    recorded in the ledger, at low priority), never in the same second as another scheduled start;
    one the schedule wanted while the box was off starts `missed_delay` after the scheduler.
    `skip_when()`, asked at each start, names a reason to skip that start (None: start it)."""
    from apscheduler.triggers.cron import CronTrigger
    job_id = job_id or name
    trigger = CronTrigger.from_crontab(cron, timezone="UTC")
    scheduler.add_job(_starter(scheduler, settings, job_id, name, params, skip_when), trigger, id=job_id,
                      replace_existing=True, **missed_run(trigger, name, missed_delay))
    return job_id


def missed_run(trigger, operation: str, delay: timedelta, now: datetime | None = None) -> dict:
    """`{"next_run_time": soon}` when the schedule fired since the last recorded run of `operation`
    began (the box was off, or never made one), else the trigger's own next time after `now`. Like
    anacron: a box switched off over its backup hour still gets that backup when it comes back."""
    now = now or clock.now()
    query = OperationRun.select(fn.MAX(OperationRun.started_at)).where(OperationRun.operation == operation)
    try:
        if database.is_closed():  # on the scheduler's thread; a caller's open connection stays open
            with database.connection_context():
                last = query.scalar()
        else:
            last = query.scalar()
    except peewee.DatabaseError:  # no ledger yet (or unreadable): the schedule alone
        return {"next_run_time": trigger.get_next_fire_time(None, now)}
    if last is not None and trigger.get_next_fire_time(None, last.replace(tzinfo=timezone.utc)) > now:
        # the schedule's own next time, read from the box's clock like the last run was
        return {"next_run_time": trigger.get_next_fire_time(None, now)}
    return {"next_run_time": now + delay}


def _starter(scheduler, settings, job_id: str, name: str, params: dict, skip_when=None):
    from . import operations
    from .errors import AppError, Conflict

    def start() -> None:
        skip = skip_when() if skip_when is not None else None
        if skip:
            log.info("scheduled %s skipped: %s", name, skip)
            return
        background_starts.wait_turn()  # never in the same second as another scheduled run
        try:
            with database.connection_context():
                operations.start_in_background(settings, name, params, actor=operations.SCHEDULER,
                                               source="schedule")
        except Conflict as busy:  # its exclusive group is busy: again in BUSY_RETRY
            retry_at = _retry_busy(scheduler, job_id, start)
            log.warning("scheduled %s not started: %s%s", name, busy.message,
                        f" (tried again at {retry_at:%H:%M:%S} UTC)" if retry_at else "")
        except AppError as refused:
            log.warning("scheduled %s not started: %s", name, refused.message)
    start.__name__ = job_id.replace(".", "_")
    return start


def _retry_busy(scheduler, job_id: str, start, now: datetime | None = None) -> datetime | None:
    """A one-off job `<job_id>.retry` BUSY_RETRY from now, unless the schedule itself comes first."""
    retry_at = (now or datetime.now(timezone.utc)) + BUSY_RETRY  # the scheduler's own (real) time
    job = scheduler.get_job(job_id)
    if job is None or (job.next_run_time is not None and job.next_run_time <= retry_at):
        return None
    scheduler.add_job(start, "date", run_date=retry_at, id=f"{job_id}.retry", replace_existing=True)
    return retry_at
