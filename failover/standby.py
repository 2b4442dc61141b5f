"""Warm standby: the standby box keeps a copy of the primary's database current from the primary's
sealed replica, so a promotion applies only the last seconds instead of restoring everything.

- `Follower` (`appliance failover follow`, a systemd unit on the standby): every
  `follow_interval_seconds` it brings a local unsealed mirror of the replica up to date
  (backup.sealed_replica.Mirror) and keeps `litestream restore -f` running on it: Litestream's follow
  mode restores the newest state once, then applies each new file as it appears. The copy lives in
  `standby/appliance.db` (with Litestream's `-txid` sidecar: the transaction it has applied) and is
  read by nobody while it follows. A follower that cannot resume (the replica's history moved past
  its copy, e.g. the primary was restored) starts the copy again from the newest snapshot.
- The lag it records in `run/standby.json`: 0 while the copy holds the replica's newest transaction;
  otherwise how long ago the oldest transaction it has not applied was captured on the primary (or,
  when the replica cannot be listed, since the last listing that worked).
- `take_over` (the promotion): stops the follower, brings the mirror up to date one last time, runs
  follow mode until the copy holds the newest transaction (or `apply_timeout`), and moves the copy
  into the box's database path, the replaced file set aside. The caller then takes the lease.

Both boxes have the same `[backup]` targets and backup key: the standby reads the replica the primary
ships (`backup.replication.target`). A standby never runs its own replication.
"""
from __future__ import annotations

import json
import logging
import os
import shutil
import signal
import threading
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Callable

from appliance import fencing
from appliance.config import Settings
from appliance.processes import Backoff, ChildExit, ChildSupervisor, PidFile

from backup import keys, sealed_replica
from backup.errors import BackupError
from backup.replication.config import (child_env, database_path, describe_replica, litestream_binary,
                                       replica_location, replica_target, write_config)

log = logging.getLogger(__name__)

FOLDER = "standby"
FACTS_FILE = "run/standby.json"
PID_FILE = "run/standby-litestream.pid"
FOLLOWER_PID_FILE = "run/standby-follower.pid"
LOG_FILE = "logs/standby-litestream.log"
CANNOT_RESUME = "cannot resume follow mode"


@dataclass
class StandbyFacts:
    following: bool
    applied_txid: int | None
    newest_txid: int | None
    lag_seconds: float | None
    listed_at: float | None
    at: float
    error: str | None = None
    missing: str | None = None


def paths(settings: Settings) -> tuple[Path, Path, Path]:
    """(the standby folder, its unsealed mirror, the copy of the database)."""
    folder = settings.path(FOLDER)
    return folder, folder / "replica", folder / database_path(settings).name


def applied_txid(copy: Path) -> int | None:
    """The transaction Litestream's follow mode has applied to `copy` (its `-txid` sidecar)."""
    try:
        return int(Path(f"{copy}-txid").read_text().strip(), 16)
    except (OSError, ValueError):
        return None


def read_facts(settings: Settings) -> dict | None:
    try:
        return json.loads(settings.path(FACTS_FILE).read_text())
    except (OSError, ValueError):
        return None


class Follower:
    """Keeps the standby copy current; `run` blocks until `stop()` (or SIGTERM through the CLI)."""

    def __init__(self, settings: Settings, clock: Callable[[], float] = time.time):
        self.settings, self.clock = settings, clock
        self.interval = settings.failover.follow_interval_seconds
        self.folder, self.mirror_dir, self.copy = paths(settings)
        key = keys.load(settings.path(settings.backup.key_file))
        self.mirror = sealed_replica.Mirror(settings, replica_target(settings), replica_location(settings),
                                            describe_replica(settings), key.encryption, self.mirror_dir)
        self._stop = threading.Event()
        self._listed_at: float | None = None
        self._sync_error: str | None = None        # why the last pass could not read the replica
        self._litestream_error: str | None = None  # why Litestream last exited
        self._restart_copy = False
        self.litestream = ChildSupervisor(
            "standby litestream", self._command, env=child_env(), log_file=settings.path(LOG_FILE),
            pid_file=settings.path(PID_FILE), stop_timeout=10, on_exit=self._exited,
            backoff=Backoff(0.5, 10, 30))

    def _command(self) -> list[str]:
        if self._restart_copy:  # the copy cannot catch up incrementally: from the newest snapshot again
            self._discard_copy()
        config = write_config(self.settings, self.folder / "litestream.yml", outbox=self.mirror_dir)
        return [litestream_binary(self.settings), "restore", "-f", "-follow-interval", f"{self.interval}s",
                "-config", str(config), "-o", str(self.copy), str(database_path(self.settings))]

    def _exited(self, exit: ChildExit) -> None:
        if CANNOT_RESUME in exit.output:
            log.warning("the standby copy cannot resume following the replica; it is made again")
            self._restart_copy = True
        self._litestream_error = _last_line(exit.output) or exit.reason

    def _discard_copy(self) -> None:
        for leftover in (self.copy, Path(f"{self.copy}-txid"), Path(f"{self.copy}-wal"), Path(f"{self.copy}-shm")):
            leftover.unlink(missing_ok=True)
        shutil.rmtree(self.mirror_dir, ignore_errors=True)
        self._restart_copy = False

    # -- the loop ---------------------------------------------------------------------------------

    def run(self) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        PidFile(self.settings.path(FOLLOWER_PID_FILE)).record()
        started = False
        try:
            while True:
                if fencing.permits_writes(self.settings.home):
                    log.warning("this box may write (it holds the lease): it follows no primary; the follower stops")
                    break
                self.sync_once()
                if not started and self.mirror.held():
                    self.litestream.start()
                    started = True
                if self._stop.wait(self.interval):
                    break
        finally:
            if started:
                self.litestream.stop()
            self.mirror.close()
            self._write_facts(following=False)
            PidFile(self.settings.path(FOLLOWER_PID_FILE)).remove()

    def stop(self) -> None:
        self._stop.set()

    def sync_once(self) -> StandbyFacts:
        applied = applied_txid(self.copy) if self.copy.exists() else None
        try:
            report = self.mirror.sync(applied)
        except BackupError as e:
            self._sync_error = e.message
            return self._write_facts(following=True, applied=applied)
        self._listed_at, self._sync_error = self.clock(), None
        return self._write_facts(following=True, applied=applied_txid(self.copy) if self.copy.exists() else None,
                                 report=report)

    def _write_facts(self, following: bool, applied: int | None = None,
                     report: sealed_replica.MirrorReport | None = None) -> StandbyFacts:
        now = self.clock()
        newest = report.newest_txid if report else None
        lag = None
        if report is not None and applied is not None:
            lag = 0.0 if applied >= newest else max(0.0, now - (self._oldest_pending(applied) or now))
        elif self._listed_at is not None and report is None:
            lag = now - self._listed_at  # the replica cannot be listed: at least this far behind
        error = self._sync_error or (self._litestream_error if self.litestream.record is None else None)
        facts = StandbyFacts(following, applied, newest, lag, self._listed_at, now, error,
                             report.missing if report else None)
        path = self.settings.path(FACTS_FILE)
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(path.name + ".tmp")
        tmp.write_text(json.dumps(asdict(facts)))
        os.replace(tmp, path)
        return facts

    def _oldest_pending(self, applied: int) -> float | None:
        """Capture time of the first file after `applied` the mirror holds (its transactions wait)."""
        pending = sorted((sealed_replica.max_txid(k), p) for k, p in self.mirror.held().items()
                         if sealed_replica.max_txid(k) > applied)
        return sealed_replica.ltx_time(pending[0][1]) if pending else None


def has_copy(settings: Settings) -> bool:
    """This box follows a primary (a follower runs, or left a copy or a mirror): a promotion takes it over."""
    _, mirror, copy = paths(settings)
    return bool(follower_running(settings)) or copy.exists() or mirror.exists()


def follower_running(settings: Settings) -> int | None:
    return PidFile(settings.path(FOLLOWER_PID_FILE)).running()


def take_over(settings: Settings, apply_timeout: float = 30, clock: Callable[[], float] = time.time) -> dict:
    """Promotion: the standby copy, brought to the replica's newest transaction, becomes the box's
    database (the file it replaces is set aside). Returns what was applied."""
    pid = follower_running(settings)
    if pid and pid != os.getpid():
        os.kill(pid, signal.SIGTERM)
        deadline = time.monotonic() + 15
        while follower_running(settings) and time.monotonic() < deadline:
            time.sleep(0.1)
    _, _, copy = paths(settings)
    follower = Follower(settings, clock)
    facts = follower.sync_once()
    if not copy.exists() and not follower.mirror.held():
        raise BackupError("There is no standby copy to promote and the replica cannot be read: "
                          f"{facts.error or 'nothing was received'}.")
    follower.litestream.start()
    try:
        deadline = time.monotonic() + apply_timeout
        while time.monotonic() < deadline:
            facts = follower.sync_once()
            if facts.applied_txid is not None and facts.newest_txid is not None \
                    and facts.applied_txid >= facts.newest_txid:
                break
            time.sleep(0.2)
    finally:
        follower.litestream.stop()
        follower.mirror.close()
    if facts.applied_txid is None:
        raise BackupError(f"The standby copy could not be made: {facts.error or 'Litestream applied nothing'}.")
    target = database_path(settings)
    stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime(clock()))
    for suffix in ("", "-wal", "-shm"):
        old = Path(f"{target}{suffix}")
        if old.exists():
            os.replace(old, old.with_name(f"{old.name}.before-promotion-{stamp}"))
    Path(f"{copy}-txid").unlink(missing_ok=True)
    os.replace(copy, target)
    shutil.rmtree(paths(settings)[1], ignore_errors=True)  # the mirror: this box follows nobody now
    return {"applied_txid": facts.applied_txid, "newest_txid": facts.newest_txid,
            "caught_up": facts.applied_txid >= (facts.newest_txid or 0), "missing": facts.missing}


def _last_line(output: str) -> str | None:
    lines = [line.strip() for line in output.strip().splitlines() if line.strip()]
    return lines[-1][:300] if lines else None
