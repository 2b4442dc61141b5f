"""Warm standby: the standby box keeps a copy of the primary's database current from the primary's
sealed replica, so a promotion applies only the last seconds instead of restoring everything.

- `Follower` (`appliance failover follow`, a systemd unit on the standby): every
  `follow_interval_seconds` it brings a local unsealed mirror of the replica up to date
  (backup.sealed_replica.Mirror: the files the replica's signed index names, a listing every
  LISTING_SECONDS) and keeps `litestream restore -f` running on it: Litestream's follow
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
from typing import TYPE_CHECKING, Callable

from urllib.parse import unquote, urlparse

from appliance import fencing
from appliance.config import Settings
from appliance.processes import Backoff, ChildExit, ChildSupervisor, PidFile

from backup.errors import BackupError

if TYPE_CHECKING:
    from backup import sealed_replica

# The backup package's replica code (the sealed mirror, Litestream's config, the database layer under
# `database_path`: cryptography, zstandard, peewee, ~18 MB resident) is imported where it is used, not
# here: the lease holder imports this module for `has_copy` and keeps it loaded on every box of the
# pair, and needs the rest only on the day it promotes (docs/failover.md "Memory"). The follower loads
# only what a pass uses: the sealed mirror, its target's module (paramiko for SFTP) and config.py,
# never the database layer (backup.replication imports its modules on first use; the copy's file is
# found by `database_file`).

log = logging.getLogger(__name__)

FOLDER = "standby"
FACTS_FILE = "run/standby.json"
PID_FILE = "run/standby-litestream.pid"
FOLLOWER_PID_FILE = "run/standby-follower.pid"
# A promotion asks the running follower to apply the replica's newest transactions before it stops
# (FINISH_FILE, then SIGTERM); the follower says what it reached in FINISHED_FILE. It is connected to
# the replica and its Litestream runs: a fresh connection and Litestream cost the promotion 0.5-1 s
# more on a loaded box (an SSH handshake alone took 0.4-0.7 s on the namespace rig).
FINISH_FILE = "run/standby-finish.json"
FINISHED_FILE = "run/standby-finished.json"
LOG_FILE = "logs/standby-litestream.log"
CANNOT_RESUME = "cannot resume follow mode"
# Litestream's follow mode looks for new files in the local mirror this often (a directory listing
# on this box: ~0.5 % of a core at 0.1 s, 0.2 % at 0.2 s, 1 % at 0.05 s); the replica itself is listed
# every follow_interval_seconds. Each poll it waits is lag, and during a promotion it is time the shop
# takes no orders.
APPLY_POLL_SECONDS = 0.1
MIN_PAUSE_SECONDS = 0.05  # between two passes of the follower, however long the first one took
# A pass reads the replica's signed index, which names every file the primary shipped (one request to
# the target); the replica itself is listed only this often (a second request), and whenever the index
# is missing or does not check: the listing is what says that files the index names were removed.
# Reading the index alone twice as often as a pass read both cost about the same requests and halves
# the time a shipped file waits to be seen (most of the standby's lag under a stream of orders).
LISTING_SECONDS = 2.0
TAKE_OVER_POLL_SECONDS = 0.05


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
    return folder, folder / "replica", folder / database_file(settings).name


def database_file(settings: Settings) -> Path:
    """backup.replication.config.database_path(settings) for an SQLite URL, without loading the
    database layer (see the imports); any other URL goes there (it refuses it)."""
    parsed = urlparse(settings.database.url)
    raw = unquote(parsed.path)
    if parsed.scheme != "sqlite" or raw in ("/:memory:", ":memory:") or raw in ("", "/"):
        from backup.replication.config import database_path
        return database_path(settings)
    relative = Path(raw[1:] if raw.startswith("/") else raw)  # sqlite:///x.db relative, sqlite:////x.db absolute
    return (relative if relative.is_absolute() else Path(settings.home) / relative).resolve()


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

    def __init__(self, settings: Settings, clock: Callable[[], float] = time.time,
                 apply_poll: float = APPLY_POLL_SECONDS):
        self.settings, self.clock = settings, clock
        self.interval = settings.failover.follow_interval_seconds
        self.apply_poll = min(apply_poll, self.interval)
        from backup import keys, sealed_replica
        from backup.replication.config import child_env, describe_replica, replica_location, replica_target
        self.folder, self.mirror_dir, self.copy = paths(settings)
        key = keys.load(settings.path(settings.backup.key_file))
        self.mirror = sealed_replica.Mirror(settings, replica_target(settings), replica_location(settings),
                                            describe_replica(settings), key.encryption, self.mirror_dir)
        self._stop = threading.Event()
        self._listed_at: float | None = None
        self._sync_error: str | None = None        # why the last pass could not read the replica
        self._litestream_error: str | None = None  # why Litestream last exited
        self._restart_copy = False
        self._listing_due = 0.0  # time.monotonic() when the next pass lists the replica
        self._missing: str | None = None  # what the last listing found missing (a pass by the index cannot tell)
        self.litestream = ChildSupervisor(
            "standby litestream", self._command, env=child_env(), log_file=settings.path(LOG_FILE),
            pid_file=settings.path(PID_FILE), stop_timeout=10, on_exit=self._exited,
            backoff=Backoff(0.5, 10, 30))

    def _command(self) -> list[str]:
        if self._restart_copy:  # the copy cannot catch up incrementally: from the newest snapshot again
            self._discard_copy()
        from backup.replication.config import litestream_binary, write_config
        database = database_file(self.settings)
        config = write_config(self.settings, self.folder / "litestream.yml", outbox=self.mirror_dir, db_path=database)
        return [litestream_binary(self.settings), "restore", "-f", "-follow-interval", f"{self.apply_poll:g}s",
                "-config", str(config), "-o", str(self.copy), str(database)]

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
        self.settings.path(FINISH_FILE).unlink(missing_ok=True)  # a request left for an earlier follower
        PidFile(self.settings.path(FOLLOWER_PID_FILE)).record()
        started = False
        try:
            while True:
                if fencing.permits_writes(self.settings.home):
                    log.warning("this box may write (it holds the lease): it follows no primary; the follower stops")
                    break
                pass_started = time.monotonic()
                facts = self.sync_once()
                if not started and self.mirror.held():
                    self.litestream.start()
                    started = True
                if self._stop.wait(self._pause_after(pass_started, read=facts.newest_txid is not None)):
                    break
        finally:
            if started:
                self._finish_if_asked()
                self.litestream.stop()
            self.mirror.close()
            self._write_facts(following=False)
            PidFile(self.settings.path(FOLLOWER_PID_FILE)).remove()

    def _pause_after(self, pass_started: float, read: bool) -> float:
        """Passes start every `interval` (not `interval` after the previous one ended: on a loaded box a
        pass took 0.05-0.35 s, and that much more lag each time), at least MIN_PAUSE_SECONDS apart; after
        a pass that could not read the replica, a whole interval (a target that times out is not asked
        again at once)."""
        if not read:
            return self.interval
        return max(MIN_PAUSE_SECONDS, pass_started + self.interval - time.monotonic())

    def _finish_if_asked(self) -> None:
        """A promotion asked (FINISH_FILE): the replica is listed again until the copy holds its newest
        transaction (Litestream applying meanwhile); what was reached goes to FINISHED_FILE, with the
        request's instant so that the promotion knows the listing came after it took the lease."""
        request = _read_json(self.settings.path(FINISH_FILE))
        if request is None:
            return
        deadline = time.monotonic() + float(request.get("timeout", 30))
        received = None
        while time.monotonic() < deadline:
            facts = self.sync_once(listing=True)
            if facts.error is not None and facts.newest_txid is None:
                return  # the replica cannot be read: the promotion tries on its own and says why
            received = received or self.clock()
            if caught_up(facts):
                _write_json(self.settings.path(FINISHED_FILE), {
                    "requested_at": request.get("requested_at"), "tail_received_at": received,
                    "applied_at": self.clock(), "applied_txid": facts.applied_txid,
                    "newest_txid": facts.newest_txid, "missing": facts.missing})
                return
            time.sleep(TAKE_OVER_POLL_SECONDS)

    def stop(self) -> None:
        self._stop.set()

    def sync_once(self, listing: bool | None = None) -> StandbyFacts:
        """One pass; `listing`: whether it lists the replica (None: when LISTING_SECONDS have passed)."""
        applied = applied_txid(self.copy) if self.copy.exists() else None
        if listing is None:
            listing = time.monotonic() >= self._listing_due
        try:
            report = self.mirror.sync(applied, listing=listing)
        except BackupError as e:
            self._sync_error = e.message
            return self._write_facts(following=True, applied=applied)
        if listing:
            self._listing_due = time.monotonic() + LISTING_SECONDS
        # A pass by the index finds nothing missing (it lists what the index names): what the last
        # listing found stays until the next listing says otherwise.
        self._missing = report.missing if listing else (report.missing or self._missing)
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
                             self._missing if report else None)
        path = self.settings.path(FACTS_FILE)
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(path.name + ".tmp")
        tmp.write_text(json.dumps(asdict(facts)))
        os.replace(tmp, path)
        return facts

    def _oldest_pending(self, applied: int) -> float | None:
        """Capture time of the first file after `applied` the mirror holds (its transactions wait)."""
        from backup import sealed_replica
        pending = sorted((sealed_replica.max_txid(k), p) for k, p in self.mirror.held().items()
                         if sealed_replica.max_txid(k) > applied)
        return sealed_replica.ltx_time(pending[0][1]) if pending else None


def caught_up(facts: StandbyFacts) -> bool:
    return facts.applied_txid is not None and facts.newest_txid is not None and facts.applied_txid >= facts.newest_txid


def _read_json(path: Path) -> dict | None:
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return None


def _write_json(path: Path, value: dict) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(value))
    os.replace(tmp, path)


def has_copy(settings: Settings) -> bool:
    """This box follows a primary (a follower runs, or left a copy or a mirror): a promotion takes it over."""
    _, mirror, copy = paths(settings)
    return bool(follower_running(settings)) or copy.exists() or mirror.exists()


def follower_running(settings: Settings) -> int | None:
    return PidFile(settings.path(FOLLOWER_PID_FILE)).running()


def take_over(settings: Settings, apply_timeout: float = 30, clock: Callable[[], float] = time.time) -> dict:
    """Promotion: the standby copy, brought to the replica's newest transaction, becomes the box's
    database (the file it replaces is set aside). Returns what was applied."""
    timeline = {"started_at": clock()}  # when each step ended (wall clock): the switchover's breakdown
    _, _, copy = paths(settings)
    finished = _finish_follower(settings, clock, apply_timeout)
    timeline["follower_stopped_at"] = clock()
    if finished is not None and (applied_txid(copy) or 0) >= finished["newest_txid"]:
        timeline.update(tail_received_at=finished["tail_received_at"], applied_at=finished["applied_at"])
        facts = StandbyFacts(False, applied_txid(copy), finished["newest_txid"], 0.0, None, clock(),
                             missing=finished.get("missing"))
    else:
        facts = _apply_tail(settings, clock, apply_timeout, timeline)
    target = database_file(settings)
    stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime(clock()))
    for suffix in ("", "-wal", "-shm"):
        old = Path(f"{target}{suffix}")
        if old.exists():
            os.replace(old, old.with_name(f"{old.name}.before-promotion-{stamp}"))
    Path(f"{copy}-txid").unlink(missing_ok=True)
    os.replace(copy, target)
    timeline["in_place_at"] = clock()
    shutil.rmtree(paths(settings)[1], ignore_errors=True)  # the mirror: this box follows nobody now
    return {"applied_txid": facts.applied_txid, "newest_txid": facts.newest_txid,
            "caught_up": facts.applied_txid >= (facts.newest_txid or 0), "missing": facts.missing,
            "timeline": timeline}


def _finish_follower(settings: Settings, clock: Callable[[], float], apply_timeout: float) -> dict | None:
    """Asks the running follower to apply the newest transactions and stop; what it reached, or None
    (no follower ran here, or it could not finish: the promotion then applies the tail itself)."""
    pid = follower_running(settings)
    if not pid or pid == os.getpid():
        return None
    requested = clock()
    _write_json(settings.path(FINISH_FILE), {"requested_at": requested, "timeout": apply_timeout})
    os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + 15 + apply_timeout
    while follower_running(settings) and time.monotonic() < deadline:
        time.sleep(TAKE_OVER_POLL_SECONDS)
    finished = _read_json(settings.path(FINISHED_FILE))
    for done in (FINISH_FILE, FINISHED_FILE):
        settings.path(done).unlink(missing_ok=True)
    return finished if finished is not None and finished.get("requested_at") == requested else None


def _apply_tail(settings: Settings, clock: Callable[[], float], apply_timeout: float, timeline: dict) -> StandbyFacts:
    """Without a follower to finish: lists the replica, downloads its newest files and runs
    Litestream's follow mode until the copy holds the newest transaction (or `apply_timeout`)."""
    _, _, copy = paths(settings)
    follower = Follower(settings, clock, apply_poll=TAKE_OVER_POLL_SECONDS)
    facts = follower.sync_once()
    timeline["tail_received_at"] = clock()
    if not copy.exists() and not follower.mirror.held():
        follower.mirror.close()
        raise BackupError("There is no standby copy to promote and the replica cannot be read: "
                          f"{facts.error or 'nothing was received'}.")
    follower.litestream.start()
    try:
        deadline = time.monotonic() + apply_timeout
        while time.monotonic() < deadline:
            facts = follower.sync_once()
            if caught_up(facts):
                break
            time.sleep(TAKE_OVER_POLL_SECONDS)
        timeline["applied_at"] = clock()
    finally:
        follower.litestream.stop()
        follower.mirror.close()
    timeline["litestream_stopped_at"] = clock()
    if facts.applied_txid is None:
        raise BackupError(f"The standby copy could not be made: {facts.error or 'Litestream applied nothing'}.")
    return facts


def _last_line(output: str) -> str | None:
    lines = [line.strip() for line in output.strip().splitlines() if line.strip()]
    return lines[-1][:300] if lines else None
