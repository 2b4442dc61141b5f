"""The box's helper processes: is the one a pid file names still ours, and keep one running.

Several parts of the box run a process beside them and must survive its death and their own: the
order writer beside `appliance serve`, Litestream beside the replication supervisor, the web
workers that announce themselves to the monitors (and the failover agent next). They all do it here:

- `ProcessRecord` / `PidFile`: a pid together with its process's start time. The kernel hands a
  freed pid to the next process that asks, so a pid alone may name a stranger; the start time
  tells "still the process we recorded" from "another one that got the same number".
- `ChildSupervisor`: starts a command, starts it again with exponential backoff when it dies (the
  backoff resets once a run lasted `Backoff.stable`), stops it with SIGTERM then SIGKILL, and first
  stops the child a predecessor killed with -9 left behind (its pid file names it).
"""
from __future__ import annotations

import contextlib
import logging
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import psutil

log = logging.getLogger(__name__)

# Start times come from /proc (boot time + ticks); the boot time the kernel reports can move by a
# second when the clock is adjusted, and pids are reused far more rarely than that.
START_TIME_TOLERANCE = 1.0
POLL_SECONDS = 0.1        # how soon a supervisor notices its child died
LOG_MAX_BYTES = 10 * 1024 * 1024


def share_cpu_at(pid: int, nice: int | None = None) -> None:
    """Gives the session of `pid` (a child started with start_new_session) the nice value `nice`,
    by default this process's own. Linux's autogroup (sched(7); on with kernel.sched_autogroup_enabled
    = 1 while no cpu cgroup controller splits the services) shares the CPU between sessions first and
    by nice only within one: a job in a session of its own got as much CPU as the web workers and the
    order writer together, its nice 10 notwithstanding (the soak's slow seconds at job starts: both
    CPUs busy, orders up to 582 ms). Writing the group's nice restores the intended share. Quietly
    nothing where there are no autogroups, or the child has gone already."""
    try:
        with open(f"/proc/{pid}/autogroup", "w") as group:
            group.write(str(min(19, os.getpriority(os.PRIO_PROCESS, 0) if nice is None else nice)))
    except OSError:
        pass


# -- which process a record names ----------------------------------------------------------------

@dataclass(frozen=True)
class ProcessRecord:
    pid: int
    started: float  # the process's start time (epoch seconds), as psutil reports it

    @classmethod
    def of(cls, pid: int | None) -> ProcessRecord | None:
        """The record of process `pid` as it is now; None when there is no such process."""
        if not pid:
            return None
        try:
            return cls(pid, psutil.Process(pid).create_time())
        except psutil.Error:
            return None

    def running(self) -> bool:
        """True while this very process runs: a pid reused by another process does not count, nor
        a zombie (dead, waiting for its parent to notice)."""
        try:
            process = psutil.Process(self.pid)
            return (abs(process.create_time() - self.started) < START_TIME_TOLERANCE
                    and process.status() != psutil.STATUS_ZOMBIE)
        except psutil.Error:
            return False

    def terminate(self, timeout: float = 10) -> None:
        """SIGTERM, then SIGKILL after `timeout`; also for a process that is not our child."""
        for sig, wait in ((signal.SIGTERM, timeout), (signal.SIGKILL, 5)):
            if not self.running():
                return
            try:
                os.kill(self.pid, sig)
            except ProcessLookupError:
                return
            deadline = time.monotonic() + wait
            while self.running() and time.monotonic() < deadline:
                time.sleep(0.05)


class PidFile:
    """A file holding `<pid> <start time>` of one process."""

    def __init__(self, path: Path):
        self.path = Path(path)

    def record(self, pid: int | None = None) -> None:
        """Records `pid` (default: this process). Written whole or not at all (readers never see half)."""
        record = ProcessRecord.of(pid or os.getpid())
        if record is None:
            return  # it is gone already: nothing to record
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_name(f".{self.path.name}.{os.getpid()}.tmp")
        tmp.write_text(f"{record.pid} {record.started}\n")
        os.replace(tmp, self.path)

    def read(self) -> ProcessRecord | None:
        try:
            pid, started = self.path.read_text().split()
            return ProcessRecord(int(pid), float(started))
        except (OSError, ValueError):
            return None

    def running(self) -> int | None:
        """The recorded pid while that process still runs, else None."""
        record = self.read()
        return record.pid if record is not None and record.running() else None

    def remove(self) -> None:
        self.path.unlink(missing_ok=True)


# -- keeping a child running ---------------------------------------------------------------------

@dataclass(frozen=True)
class Backoff:
    first: float = 0.5     # pause before the first restart
    longest: float = 30    # the pause doubles up to this
    stable: float = 30     # a run this long counts as healthy: the next death starts again at `first`

    def pause(self, failures: int) -> float:
        return min(self.longest, self.first * 2 ** max(0, failures - 1))


@dataclass(frozen=True)
class ChildExit:
    at: float               # epoch seconds
    code: int | None        # exit status (negative: the signal); None when it could not be started
    reason: str             # "exited with status 1", or why it could not be started
    output: str             # what it wrote to its log file during that run ("" without a log file)
    restart_at: float       # when it is started again


Command = Sequence[str] | Callable[[], Sequence[str]]


class ChildSupervisor:
    """Keeps one child process running until `stop()`.

    `command` may be a function, called before every start (e.g. to find the executable again); an
    exception it raises counts as a failed start. `on_start(pid)` runs after each start,
    `on_exit(ChildExit)` after each death or failed start; both on the supervisor's thread, except
    for the first start, which `start()` makes on its caller's thread.
    With `pid_file`, the child is recorded there while it runs, and `start()` first stops a live
    child recorded by a predecessor (one killed with -9 could not stop its child).
    """

    def __init__(self, name: str, command: Command, *, env: dict[str, str] | None = None,
                 log_file: Path | None = None, pid_file: Path | None = None, backoff: Backoff = Backoff(),
                 stop_timeout: float = 10, pass_fds: Sequence[int] = (), own_session: bool = True,
                 on_start: Callable[[int], None] | None = None,
                 on_exit: Callable[[ChildExit], None] | None = None):
        self.name, self.command, self.env = name, command, env
        self.log_file = Path(log_file) if log_file else None
        self.pid_file = PidFile(pid_file) if pid_file else None
        self.backoff, self.stop_timeout = backoff, stop_timeout
        self.pass_fds = tuple(pass_fds)
        # A session of its own: Ctrl-C in the terminal reaches only the supervisor, which stops the
        # child in order. Without: the child shares the caller's fate when its process group is killed.
        self.own_session = own_session
        self.on_start, self.on_exit = on_start, on_exit
        self.restarts = 0                       # deaths of a started child
        self.started_at: float | None = None    # when the current (or last) child started
        self.next_start_at: float | None = None  # while waiting to start it again
        self.last_exit: ChildExit | None = None
        self._process: subprocess.Popen | None = None
        self._record: ProcessRecord | None = None
        self._failures = 0
        self._log_offset = 0
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None

    @property
    def record(self) -> ProcessRecord | None:
        """The running child, or None (dead, not started yet, or waiting to restart)."""
        return self._record

    @property
    def pid(self) -> int | None:
        record = self._record
        return record.pid if record is not None else None

    def start(self) -> ChildSupervisor:
        self.stop_stale()
        self._spawn()
        self._thread = threading.Thread(target=self._watch, name=f"{self.name}-supervisor", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        """No more restarts; the child gets SIGTERM, then SIGKILL after `stop_timeout`."""
        self._stopping.set()
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join()
        process, self._process, self._record = self._process, None, None
        if process is not None and process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(self.stop_timeout)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(5)
            log.info("%s stopped", self.name)
        if self.pid_file is not None and self._thread is not None:  # never started: the file is not ours
            self.pid_file.remove()

    def stop_stale(self) -> None:
        """Stops the child the pid file names if it still runs: a predecessor killed with -9 left it."""
        if self.pid_file is None:
            return
        stale = self.pid_file.read()
        if stale is not None and stale.running():
            log.warning("stopping %s left behind by a previous supervisor (pid %s)", self.name, stale.pid)
            stale.terminate(self.stop_timeout)
        self.pid_file.remove()

    # on the supervisor's thread ------------------------------------------------------------------

    def _watch(self) -> None:
        while not self._stopping.wait(POLL_SECONDS):
            if self._process is not None and self._process.poll() is not None:
                self._exited(self._process.returncode)
            if self._process is None and time.time() >= (self.next_start_at or 0):
                self._spawn()

    def _spawn(self) -> None:
        try:
            command = list(self.command() if callable(self.command) else self.command)
            with self._output() as out:
                self._process = subprocess.Popen(
                    command, stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT if out else None,
                    env=self.env, pass_fds=self.pass_fds, start_new_session=self.own_session)
        except Exception as e:  # noqa: BLE001 - a failed start is retried like a death
            self._failed(None, getattr(e, "message", None) or str(e), "")
            return
        if self.own_session:
            share_cpu_at(self._process.pid)  # its session's share: this process's priority, not a group's
        self.started_at, self.next_start_at = time.time(), None
        self._record = ProcessRecord.of(self._process.pid)
        if self.pid_file is not None:
            self.pid_file.record(self._process.pid)
        log.info("%s started (pid %s)", self.name, self._process.pid)
        if self.on_start is not None:
            self.on_start(self._process.pid)

    def _exited(self, code: int) -> None:
        pid, self._process, self._record = self._process.pid, None, None
        if self.pid_file is not None:
            self.pid_file.remove()
        self.restarts += 1
        if self.started_at is not None and time.time() - self.started_at >= self.backoff.stable:
            self._failures = 0
        self._failed(code, f"exited with status {code}", self._output_since_start(), pid)

    def _failed(self, code: int | None, reason: str, output: str, pid: int | None = None) -> None:
        self._failures += 1
        now = time.time()
        self.next_start_at = now + self.backoff.pause(self._failures)
        self.last_exit = ChildExit(now, code, reason, output, self.next_start_at)
        what = f"{self.name} (pid {pid})" if pid else self.name
        log.warning("%s %s; starting it again in %.1f s", what, reason if pid else f"did not start: {reason}",
                    self.next_start_at - now)
        if self.on_exit is not None:
            self.on_exit(self.last_exit)

    # the child's log -------------------------------------------------------------------------------

    def _output(self):
        """The log file opened for appending (rotated past LOG_MAX_BYTES, one old generation kept);
        without a log file the child writes where the supervisor does."""
        if self.log_file is None:
            return contextlib.nullcontext(None)
        self.log_file.parent.mkdir(parents=True, exist_ok=True)
        try:
            if self.log_file.stat().st_size > LOG_MAX_BYTES:
                os.replace(self.log_file, self.log_file.with_name(self.log_file.name + ".1"))
        except OSError:
            pass
        out = open(self.log_file, "ab")
        self._log_offset = out.tell()
        return out

    def _output_since_start(self, limit: int = 65536) -> str:
        if self.log_file is None:
            return ""
        try:
            with open(self.log_file, "rb") as f:
                f.seek(self._log_offset)
                return f.read()[-limit:].decode("utf-8", "replace")
        except OSError:
            return ""



# -- a child that goes with its parent ------------------------------------------------------------

class PipeLinkedChild:
    """`python -m MODULE HOME FD` kept running beside this process, and gone once this process and
    every process forked from it are (even killed with -9): the child reads FD, the read end of a
    pipe whose write end they hold, and exits at end-of-file. `appliance serve` runs its order
    writer and its background process so; the gunicorn workers forked from the master hold copies
    of the write end, so the child outlives their in-flight requests."""

    def __init__(self, name: str, module: str, home: Path, env: dict[str, str] | None = None):
        read_end, self._alive_fd = os.pipe()
        self._read_end: int | None = read_end
        self.child = ChildSupervisor(
            name, [sys.executable, "-m", module, str(home), str(read_end)],
            env={**os.environ, "APPLIANCE_HOME": str(home), **(env or {})}, pass_fds=(read_end,),
            backoff=Backoff(first=0.5, longest=30), own_session=False)

    def start(self) -> "PipeLinkedChild":
        self.child.start()
        return self

    def stop(self, timeout: float = 10) -> None:
        """Closes this process's end of the pipe, then stops the child (SIGTERM, SIGKILL after
        `timeout`); a child that ignores SIGTERM leaves at end-of-file, once the forked copies are
        closed too."""
        if self._alive_fd is not None:
            os.close(self._alive_fd)
            self._alive_fd = None
        self.child.stop_timeout = timeout
        self.child.stop()
        if self._read_end is not None:
            os.close(self._read_end)
            self._read_end = None


def wait_for_end_of_file(fd: int) -> None:
    """The child's side of `PipeLinkedChild`: returns once every holder of the write end is gone."""
    while os.read(fd, 1):
        pass
