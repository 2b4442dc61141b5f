"""One Litestream per box: the lock that makes it one, the child supervised through
appliance/processes.py, the shipper thread that seals and ships the outbox, and the state it records."""
from __future__ import annotations

import fcntl
import logging
import os
import threading
import time

from appliance.config import Settings
from appliance.processes import Backoff, ChildExit, ChildSupervisor, ProcessRecord

from .. import keys, sealed_replica
from ..errors import BackupError
from .config import (CONFIG_FILE, ReplicationError, child_env, database_path, describe_replica, litestream_binary,
                     outbox_dir, replica_location, replica_target, write_config)
from .state import write_state

log = logging.getLogger(__name__)

LOCK_FILE = "run/replication.lock"
PID_FILE = "run/litestream.pid"
LOG_FILE = "logs/litestream.log"
STABLE_SECONDS = 30      # a Litestream that ran this long resets the restart backoff
LOCK_RETRY_SECONDS = 5   # a waiting supervisor tries to take over this often
SHIP_SECONDS = 0.25       # a shipping pass starts this often, counted from the previous pass's start
SHIP_MIN_PAUSE_SECONDS = 0.05  # between two passes, however long the first one took
SHIP_RETRY_MAX_SECONDS = 15
# A Litestream that has just started captures what was committed while none ran within about this long
# (its monitor interval is 1 s); a shipping pass that began before then does not vouch for it.
CAPTURE_SECONDS = 1.5


class Supervisor:
    """Runs `litestream replicate` for the box, restarts it with backoff, records its state.

    `start()` runs it on a thread (the scheduler holder); `run()` blocks (`appliance replication run`).
    Only the holder of run/replication.lock supervises; others wait for the lock.
    """

    def __init__(self, settings: Settings, wait_for_lock: bool = True):
        self.settings = settings
        self.cfg = settings.backup.replication
        self.wait_for_lock = wait_for_lock
        self.db_path = database_path(settings)
        self.config_path = settings.path(CONFIG_FILE)
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._lock_fd: int | None = None
        self._last_exit: dict | None = None
        self._state_lock = threading.Lock()
        self._ship_thread: threading.Thread | None = None
        self._ship_error: str | None = None
        self._state_shipped_through = 0.0  # shipped_through as the state file last said it
        self._started = time.time()
        self.litestream = ChildSupervisor(
            "litestream", self._litestream_command, env=child_env(), log_file=settings.path(LOG_FILE),
            pid_file=settings.path(PID_FILE), stop_timeout=10,  # SIGTERM: Litestream syncs what it has, then exits
            backoff=Backoff(self.cfg.restart_base_seconds, self.cfg.restart_max_seconds, STABLE_SECONDS),
            on_start=lambda pid: self._write_state(), on_exit=self._litestream_exited)
        try:
            key = keys.load(settings.path(settings.backup.key_file))
        except BackupError as e:
            raise ReplicationError(f"Replication seals the replica with the backup key: {e.message}") from None
        self.shipper = sealed_replica.Shipper(settings, replica_target(settings), replica_location(settings),
                                              describe_replica(settings), outbox_dir(settings), key.encryption)

    # public -------------------------------------------------------------------------------------

    def start(self) -> Supervisor:
        self._thread = threading.Thread(target=self._main, name="litestream-supervisor", daemon=True)
        self._thread.start()
        return self

    def run(self) -> None:
        self._main()

    def stop(self, timeout: float = 10) -> None:
        self._stop.set()
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join(timeout + 5)

    @property
    def supervising(self) -> bool:
        return self._lock_fd is not None

    @property
    def restarts(self) -> int:
        return self.litestream.restarts

    # loop ---------------------------------------------------------------------------------------

    def _main(self) -> None:
        try:
            while not self._stop.is_set():
                if self._take_lock():
                    break
                if not self.wait_for_lock:
                    raise ReplicationError(f"Replication is already supervised on this box ({self._holder()}).")
                self._stop.wait(LOCK_RETRY_SECONDS)
            if self._stop.is_set():
                return
            write_config(self.settings, self.config_path)
            log.info("supervising litestream for %s -> %s", self.db_path, describe_replica(self.settings))
            self._ship_thread = threading.Thread(target=self._ship_loop, name="replica-shipper", daemon=True)
            self._ship_thread.start()
            self.litestream.start()  # stops a Litestream a supervisor killed with -9 left, first
            while True:  # the state is rewritten at least this often, so readers know the supervisor lives
                self._write_state()
                if self._stop.wait(self.cfg.probe_interval_seconds):
                    break
        except ReplicationError:
            raise
        except Exception:  # noqa: BLE001 - the supervisor thread must say why it ended
            log.exception("replication supervisor failed")
            raise
        finally:
            if self.supervising:
                self.litestream.stop()
            if self._ship_thread is not None:
                self._ship_thread.join()
                self._ship()  # what Litestream synced as it stopped
            self.shipper.close()
            if self.supervising:
                self._write_state(stopped=True)
                os.close(self._lock_fd)
                self._lock_fd = None

    def _litestream_command(self) -> list[str]:
        return [litestream_binary(self.settings), "replicate", "-config", str(self.config_path)]

    def _litestream_exited(self, exit: ChildExit) -> None:
        reason = _last_error(exit.output) or exit.reason
        self._last_exit = {"at": exit.at, "code": exit.code, "reason": reason}
        self._write_state()

    def _ship_loop(self) -> None:
        failures, pause = 0, SHIP_SECONDS
        while not self._stop.wait(pause):
            pass_started = time.monotonic()
            failures = 0 if self._ship() else failures + 1
            pause = ship_pause(pass_started, failures, time.monotonic())

    def _ship(self) -> bool:
        """One shipping pass; False (the reason recorded) when the target failed it."""
        try:
            changed = self.shipper.ship_once()
        except Exception as e:  # noqa: BLE001 - any failure is retried; the monitors show the reason
            self.shipper.close()  # reconnect on the next pass
            reason = getattr(e, "message", None) or f"{type(e).__name__}: {e}"
            if reason != self._ship_error:
                log.warning("shipping the replica failed: %s", reason)
            self._ship_error = reason
            self._write_state()
            return False
        # A pass that found nothing new still moves shipped_through: the lease holder publishes it each
        # second (the replica is current, not behind since the last change), so the state follows it.
        if changed or self._ship_error or (self._shipped_through() or 0) - self._state_shipped_through >= 1.0:
            self._ship_error = None
            self._write_state()
        return True

    # lock and state -----------------------------------------------------------------------------

    def _take_lock(self) -> bool:
        path = self.settings.path(LOCK_FILE)
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_CREAT | os.O_RDWR, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            return False
        os.ftruncate(fd, 0)
        os.write(fd, f"{os.getpid()}\n".encode())
        self._lock_fd = fd
        return True

    def _holder(self) -> str:
        try:
            return "pid " + self.settings.path(LOCK_FILE).read_text().strip()
        except OSError:
            return "another process"

    def _shipped_through(self) -> float | None:
        """The shipper's figure, held back to the moment Litestream died (or this supervisor started)
        until a pass that began once a new Litestream had captured what was committed meanwhile: the
        shipper ships what Litestream captured, and while none runs it ships nothing new."""
        shipped = self.shipper.shipped_through
        if shipped is None:
            return None
        uncaptured_since = self._last_exit["at"] if self._last_exit else self._started
        started = self.litestream.started_at if self.litestream.record is not None else None
        if started is not None and started >= uncaptured_since and shipped >= started + CAPTURE_SECONDS:
            return shipped
        return min(shipped, uncaptured_since)

    def _write_state(self, stopped: bool = False) -> None:
        litestream = self.litestream.record
        me = ProcessRecord.of(os.getpid())
        state = {
            "supervisor_pid": me.pid,
            "supervisor_started": me.started,  # with the pid: a reused pid does not pass for this supervisor
            "litestream_pid": litestream.pid if litestream else None,
            "litestream_started": litestream.started if litestream else None,
            "stopped": stopped,
            "started_at": self.litestream.started_at,
            "restarts": self.litestream.restarts,
            "next_start_at": self.litestream.next_start_at if litestream is None and not stopped else None,
            "last_exit": self._last_exit,
            "replica": describe_replica(self.settings),
            "replica_txid": self.shipper.replica_txid,
            "replica_probed_at": self.shipper.confirmed_at,
            "shipped_through": self._shipped_through(),
            "shipping_error": self._ship_error,
            "probe_interval_seconds": self.cfg.probe_interval_seconds,
            "updated_at": time.time(),
        }
        with self._state_lock:  # the supervisor, the shipper and Litestream's watcher threads all write it
            write_state(self.settings, state)
            self._state_shipped_through = state["shipped_through"] or 0.0


def ship_pause(pass_started: float, failures: int, now: float) -> float:
    """How long the shipper waits before its next pass. Passes start every SHIP_SECONDS counted from
    the previous pass's start, not its end: a pass seals and uploads its files and the signed index
    (a few SFTP round trips each), and waiting a whole interval after it put that much more between
    a transaction's capture and the standby (on the loaded namespace rig files reached the replica
    in bursts of 4-6, 0.4-0.7 s after their capture). At least SHIP_MIN_PAUSE_SECONDS apart all the
    same. After a failed pass, 1, 2, 4… s up to
    SHIP_RETRY_MAX_SECONDS from its end: a target that fails is not asked again at once."""
    if failures:
        return min(SHIP_RETRY_MAX_SECONDS, 2 ** (failures - 1))
    return max(SHIP_MIN_PAUSE_SECONDS, pass_started + SHIP_SECONDS - now)


def _last_error(output: str) -> str | None:
    """The last error Litestream logged during its run (its log never holds secrets)."""
    errors = [line for line in output.splitlines() if "level=ERROR" in line or line.startswith("Error:")]
    return errors[-1].strip()[:300] if errors else None
