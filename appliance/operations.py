"""One way to run an operation: a registry of named operations and one ledger of their runs.

An operation is what an IT person (or the scheduler, or a runbook step) starts on the box: run a
backup, verify, restore, acknowledge an alert, promote a standby. Each package registers its own
(`register(Operation(...))` in its `operations.py`); the core knows none of them by name. The CLI
commands, the scheduler's jobs and the /ops buttons all call `execute` or `start_in_background`, so
every run is checked for its role, refused while an exclusive one runs, and recorded in the
`OperationRun` ledger (who, what, parameters with secrets masked, start, end, outcome, summary).

A run started from the web or the scheduler runs in a child process (`launcher` + `operations
run-queued ID`), never inside a web request, at lower CPU and I/O priority than the web workers and
the order writer (`at_background_priority`); its progress lines go to `logs/operations/<id>.log`.
A run whose process died (SIGKILL, power cut) is marked `interrupted` by `reap_interrupted`, which
every start calls, so nothing shows "running" forever.
"""
from __future__ import annotations

import fcntl
import getpass
import json
import logging
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterator

import psutil

from .accounts import role_allows
from .config import Settings
from .db import database, database_exists, init_database
from .processes import share_cpu_at
from .errors import AppError, Conflict, Forbidden, Invalid, NotFound
from .models import ROLES, OperationRun, utcnow
from .processes import ProcessRecord

log = logging.getLogger(__name__)
OUTCOMES = ("queued", "running", "ok", "partial", "failed", "interrupted")
FINISHED = ("ok", "partial", "failed", "interrupted")
MASK = "••••••"


@dataclass(frozen=True)
class Param:
    """A typed parameter. Values arrive as text (CLI, forms) or typed (runbooks); `parse` checks both."""
    name: str
    kind: type = str                 # str, int, float or bool
    help: str = ""
    default: Any = None
    required: bool = False
    secret: bool = False             # masked in the ledger, the logs and the pages
    choices: tuple[str, ...] = ()

    def parse(self, raw: Any) -> Any:
        if raw is None or raw == "":
            if self.required:
                raise Invalid(f"Parameter {self.name} is required.", [{"param": self.name}])
            return self.default
        try:
            value = _convert(self.kind, raw)
        except (TypeError, ValueError):
            raise Invalid(f"Parameter {self.name} must be {_kind_name(self.kind)} (got {raw!r}).",
                          [{"param": self.name}]) from None
        if self.choices and value not in self.choices:
            raise Invalid(f"Parameter {self.name} must be one of {', '.join(self.choices)} (got {value!r}).",
                          [{"param": self.name}])
        return value


def _convert(kind: type, raw: Any) -> Any:
    if kind is bool:
        if isinstance(raw, bool):
            return raw
        text = str(raw).strip().lower()
        if text in ("1", "true", "yes", "on"):
            return True
        if text in ("0", "false", "no", "off"):
            return False
        raise ValueError(raw)
    if kind is int and isinstance(raw, float) or isinstance(raw, bool) and kind is not bool:
        raise TypeError(raw)
    return kind(raw)


def _kind_name(kind: type) -> str:
    return {str: "text", int: "a whole number", float: "a number", bool: "true or false"}.get(kind, kind.__name__)


@dataclass(frozen=True)
class Outcome:
    """How a result is recorded in the ledger."""
    outcome: str = "ok"              # ok | partial | failed
    summary: str = ""
    bytes: int = 0


@dataclass(frozen=True)
class Operation:
    name: str                                     # dotted: <package>.<verb>
    title: str                                    # what a button or a runbook step says
    role: str                                     # the least role that may run it
    run: Callable[..., Any]                       # run(context, **params) -> result
    params: tuple[Param, ...] = ()
    exclusive: str | None = None                  # lock group: one run of the group at a time per box
    record: Callable[[Any], Outcome] = lambda result: Outcome()
    background: bool = True                       # from the web: in a child process (False: instant ones)
    replaces_database: bool = False               # a restore: recorded when it ends, in the new database
    read_only: bool = False                       # a probe: changes nothing (runbook check/verify steps)
    help: str = ""

    def parse(self, raw: dict[str, Any]) -> dict[str, Any]:
        known = {p.name for p in self.params}
        unknown = sorted(set(raw) - known)
        if unknown:
            raise Invalid(f"{self.name} takes no parameter {unknown[0]} (it takes: {', '.join(sorted(known)) or 'none'}).",
                          [{"param": name} for name in unknown])
        return {p.name: p.parse(raw.get(p.name)) for p in self.params}

    def masked(self, values: dict[str, Any]) -> dict[str, Any]:
        secret = {p.name for p in self.params if p.secret}
        return {k: (MASK if k in secret and v not in (None, "") else v) for k, v in values.items()}


@dataclass(frozen=True)
class Actor:
    name: str
    role: str


SCHEDULER = Actor("scheduler", "admin")


def cli_actor() -> Actor:
    """Whoever runs `appliance` on the box can read its keys and database: the CLI acts as admin."""
    try:
        user = getpass.getuser()
    except Exception:  # noqa: BLE001 - no passwd entry in a container
        user = str(os.getuid())
    return Actor(f"cli:{user}", "admin")


@dataclass
class Context:
    """What an operation's function gets besides its parameters."""
    settings: Settings
    actor: Actor
    run_id: int | None
    show_progress: bool = True
    data: dict = field(default_factory=dict)


# -- the registry ------------------------------------------------------------------------------

_registry: dict[str, Operation] = {}


def register(operation: Operation) -> Operation:
    if operation.role not in ROLES:
        raise ValueError(f"operation {operation.name}: role must be one of {ROLES}")
    existing = _registry.get(operation.name)
    if existing is not None and existing.run is not operation.run:
        raise ValueError(f"operation {operation.name} is registered twice")
    _registry[operation.name] = operation
    return operation


def get(name: str) -> Operation:
    try:
        return _registry[name]
    except KeyError:
        raise NotFound(f"There is no operation {name!r} (known: {', '.join(sorted(_registry)) or 'none'}).") from None


def registered() -> list[Operation]:
    return [_registry[name] for name in sorted(_registry)]


# -- running -----------------------------------------------------------------------------------

def execute(settings: Settings, name: str, params: dict[str, Any] | None = None, *, actor: Actor,
            source: str = "cli", show_progress: bool = True, queued_run: OperationRun | None = None) -> Any:
    """Runs an operation here and now, recorded in the ledger; returns its result, raises its error.

    Refused (403) for a role below the operation's, (422) for a bad parameter, (409) while another
    run of its exclusive group is under way on this box, naming that run.
    """
    operation = get(name)
    _check_role(operation, actor)
    values = operation.parse(params or {})
    if operation.replaces_database:
        return _execute_replacing_database(settings, operation, values, actor, source, show_progress)
    reap_interrupted(settings)
    with _exclusive(settings, operation, source):
        run = _begin(operation, values, actor, source, queued_run)
        _hold(settings, operation, run, source)
        started = time.monotonic()
        try:
            result = operation.run(Context(settings, actor, run.id, show_progress), **values)
        except BaseException as error:
            _finish(run, started, Outcome("interrupted" if isinstance(error, GaveWay) else "failed", _one_line(error)))
            raise
        outcome = operation.record(result)
        _finish(run, started, outcome)
    if outcome.outcome != "failed":
        _run_followers(settings, operation, result)
    return result


def _execute_replacing_database(settings: Settings, operation: Operation, values: dict, actor: Actor,
                                source: str, show_progress: bool) -> Any:
    """A restore may run on a box without a database, and replaces the one that would hold a
    "running" row: its run is written when it ends, into the database then in place, if it has a
    ledger (a database restored from an older release gets its ledger at the next start)."""
    with _exclusive(settings, operation, source):
        started, began = time.monotonic(), utcnow()
        try:
            result = operation.run(Context(settings, actor, None, show_progress), **values)
        except BaseException as error:
            _record_afterwards(settings, operation, values, actor, source, began, started,
                               Outcome("failed", _one_line(error)))
            raise
        _record_afterwards(settings, operation, values, actor, source, began, started, operation.record(result))
        return result


def _record_afterwards(settings: Settings, operation: Operation, values: dict, actor: Actor, source: str,
                       began, started: float, outcome: Outcome) -> None:
    try:
        if database.obj is None:
            if not database_exists(settings.database.url, settings.home):
                return  # a restore elsewhere (--output) on a box without its own database: create none
            init_database(settings.database.url, settings.home, settings.database.busy_timeout_ms)
        with _connection():
            if OperationRun.table_exists():
                OperationRun.create(operation=operation.name, actor=actor.name, actor_role=actor.role, source=source,
                                    params_json=json.dumps(operation.masked(values)), started_at=began,
                                    finished_at=utcnow(), duration_seconds=time.monotonic() - started,
                                    outcome=outcome.outcome, summary=outcome.summary[:2000], bytes=outcome.bytes)
    except Exception as error:  # noqa: BLE001 - no usable database is what a restore may leave behind on failure
        log.warning("%s: run not recorded in the ledger: %s", operation.name, error)


# What other packages do after an operation succeeded (e.g. the runbooks package puts its export on
# every target after each backup): one extension point, no package calling the one above it.
_followers: dict[str, list[Callable[[Settings, Any], None]]] = {}


def after_success(name: str, follower: Callable[[Settings, Any], None]) -> None:
    """`follower(settings, result)` runs after each run of `name` that did not fail, outside its lock;
    its failure is logged, never the operation's."""
    if follower not in _followers.setdefault(name, []):
        _followers[name].append(follower)


def _run_followers(settings: Settings, operation: Operation, result: Any) -> None:
    for follower in _followers.get(operation.name, []):
        try:
            follower(settings, result)
        except Exception:  # noqa: BLE001 - the operation itself succeeded
            log.exception("after %s: %s failed", operation.name, getattr(follower, "__name__", follower))


def start_in_background(settings: Settings, name: str, params: dict[str, Any] | None = None, *,
                        actor: Actor, source: str) -> OperationRun:
    """Records a queued run and starts a child process that executes it; returns at once.

    The checks `execute` makes that need no waiting (role, parameters, a running exclusive run) are
    made here too, so a refusal is said to the person who asked, not only written to a log.
    """
    operation = get(name)
    _check_role(operation, actor)
    values = operation.parse(params or {})
    reap_interrupted(settings)
    _refuse_while_busy(settings, operation, source)
    run = OperationRun.create(operation=name, actor=actor.name, actor_role=actor.role, source=source,
                              params_json=json.dumps(operation.masked(values)), outcome="queued")
    _write_params(settings, run, values)
    log = log_path(settings, run.id)
    log.parent.mkdir(parents=True, exist_ok=True)
    with open(log, "ab") as out:
        prefix, env = at_background_priority()
        child = subprocess.Popen([*prefix, *launcher, "--home", str(settings.home), "operations", "run-queued",
                                  str(run.id)], stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT,
                                 start_new_session=True, close_fds=True, env=env)
    # its session's CPU share at its nice value too (appliance/processes.py share_cpu_at)
    share_cpu_at(child.pid, os.getpriority(os.PRIO_PROCESS, 0) + BACKGROUND_NICE_INCREMENT)
    return run


def execute_queued(settings: Settings, run_id: int) -> Any:
    """The child's half of `start_in_background`: runs the queued run with its stored parameters."""
    run = OperationRun.get_or_none(OperationRun.id == run_id)
    if run is None or run.outcome != "queued":
        raise Conflict(f"Run #{run_id} is not waiting to start ({run.outcome if run else 'no such run'}).")
    if not os.environ.get(PRIORITY_LOWERED_ENV):
        lower_priority()
    values = _read_params(settings, run)
    actor = Actor(run.actor, run.actor_role)
    try:
        return execute(settings, run.operation, values, actor=actor, source=run.source, queued_run=run)
    except AppError as refused:
        if run.outcome == "queued":  # refused before it began (another run took the lock meanwhile)
            _finish(run, time.monotonic(), Outcome("failed", refused.message))
        raise


# A background run yields the CPU and the disk to the web workers and the order writer: its nice
# value is this much above theirs, and its I/O is best-effort at the lowest level (7). Not the idle
# I/O class: under steady order writes it could wait without end, and a backup must end within its
# hour. (The I/O class counts only with the BFQ disk scheduler; the CPU share counts everywhere.)
BACKGROUND_NICE_INCREMENT = 10
BACKGROUND_IO = ("IOPRIO_CLASS_BE", 7)


# Set for a child started through `nice` and `ionice` (it need not lower its priority again).
PRIORITY_LOWERED_ENV = "APPLIANCE_PRIORITY_LOWERED"


def at_background_priority() -> tuple[list[str], dict[str, str] | None]:
    """The command prefix and environment that start a background run's child at low priority from
    its first instruction: a Python child that lowers its own starts with a second or so of imports
    at the web's priority, and on a 2-core box that second is when orders slowed (issue 17: jobs
    starting together). Without `nice` and `ionice` on PATH, no prefix: the child lowers its own."""
    nice, ionice = shutil.which("nice"), shutil.which("ionice")
    if not (nice and ionice):
        return [], None
    io_class = {"IOPRIO_CLASS_BE": "2"}[BACKGROUND_IO[0]]
    return ([nice, "-n", str(BACKGROUND_NICE_INCREMENT), ionice, "-c", io_class, "-n", str(BACKGROUND_IO[1])],
            {**os.environ, PRIORITY_LOWERED_ENV: "1"})


def lower_priority() -> None:
    """Gives this process (a background run's child) lower CPU and I/O priority; never fails it."""
    try:
        os.nice(BACKGROUND_NICE_INCREMENT)
    except OSError as error:
        log.warning("background run: nice not lowered: %s", error)
    try:
        io_class, value = BACKGROUND_IO
        psutil.Process().ionice(getattr(psutil, io_class), value)
    except (AttributeError, OSError, psutil.Error) as error:  # no ionice on this platform or kernel
        log.warning("background run: I/O priority not lowered: %s", error)


def log_path(settings: Settings, run_id: int) -> Path:
    return settings.home / "logs" / "operations" / f"{run_id}.log"


def log_tail(settings: Settings, run_id: int, max_bytes: int = 8192) -> str:
    """The end of a background run's output (its progress lines), for the page that follows it."""
    path = log_path(settings, run_id)
    try:
        with open(path, "rb") as f:
            f.seek(max(0, path.stat().st_size - max_bytes))
            return f.read().decode("utf-8", "replace")
    except FileNotFoundError:
        return ""


# The command that runs `appliance`; the composition root sets it (the core knows no package above).
launcher: list[str] = [sys.executable, "-m", "cli"]


def _check_role(operation: Operation, actor: Actor) -> None:
    if not role_allows(actor.role, operation.role):
        raise Forbidden(f"{operation.name} needs the {operation.role} role; {actor.name} is {actor.role}.")


def _begin(operation: Operation, values: dict, actor: Actor, source: str,
           queued_run: OperationRun | None) -> OperationRun:
    me = ProcessRecord.of(os.getpid())
    fields = {"outcome": "running", "started_at": utcnow(), "pid": me.pid, "pid_started": me.started}
    if queued_run is not None:
        OperationRun.update(**fields).where(OperationRun.id == queued_run.id).execute()
        return OperationRun.get_by_id(queued_run.id)
    return OperationRun.create(operation=operation.name, actor=actor.name, actor_role=actor.role, source=source,
                               params_json=json.dumps(operation.masked(values)), **fields)


def _finish(run: OperationRun, started: float, outcome: Outcome) -> None:
    ended = utcnow()
    fields = {"outcome": outcome.outcome, "summary": outcome.summary[:2000], "bytes": outcome.bytes,
              "finished_at": ended, "duration_seconds": time.monotonic() - started}
    with _connection():
        OperationRun.update(**fields).where(OperationRun.id == run.id).execute()
    for name, value in fields.items():
        setattr(run, name, value)


@contextmanager
def _connection() -> Iterator[None]:
    """A connection for the ledger write, also when the operation closed the caller's (a restore)."""
    if database.is_closed():
        with database.connection_context():
            yield
    else:
        yield


def _one_line(error: BaseException) -> str:
    text = getattr(error, "message", None) or str(error) or type(error).__name__
    return " ".join(text.split())


# -- interrupted runs --------------------------------------------------------------------------

def reap_interrupted(settings: Settings | None = None) -> int:
    """Marks running (and long-queued) runs whose process is gone as interrupted; returns how many."""
    reaped = 0
    for run in OperationRun.select().where(OperationRun.outcome.in_(("running", "queued"))):
        if run.outcome == "queued" and (utcnow() - run.started_at).total_seconds() < QUEUED_GRACE_SECONDS:
            continue  # its child may still be starting
        if run.outcome == "running" and _alive(run.pid, run.pid_started):
            continue
        changed = (OperationRun.update(outcome="interrupted", finished_at=utcnow(),
                                       summary="interrupted: the process running it ended without finishing")
                   .where(OperationRun.id == run.id, OperationRun.outcome == run.outcome).execute())
        reaped += changed
    return reaped


QUEUED_GRACE_SECONDS = 60  # a queued run's child has this long to begin it


def _alive(pid: int | None, started: float | None) -> bool:
    """Is the process that began the run still the same process (a reused pid is not)?"""
    return pid is not None and started is not None and ProcessRecord(pid, started).running()


# -- exclusive groups --------------------------------------------------------------------------
# The group's lock file names its holder as JSON: the run (when it has one yet), its process (pid
# and start time, so a reused pid is never taken for it) and whether it gives way (below).

def _lock_file(settings: Settings, group: str) -> Path:
    return settings.home / "run" / "operations" / f"{group}.lock"


@contextmanager
def _exclusive(settings: Settings, operation: Operation, source: str) -> Iterator[None]:
    """An flock per exclusive group: the kernel drops it when the holder dies, so a killed run never
    blocks the next one. A drill holding it is asked to give way to any other run (`giving_way`)."""
    if operation.exclusive is None:
        yield
        return
    path = _lock_file(settings, operation.exclusive)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_CREAT | os.O_RDWR, 0o600)
    try:
        if not _try_lock(fd):
            holder = _read_holder(fd)
            if not _gives_way_to(holder, source) or not _made_to_give_way(fd, holder, operation):
                raise _busy(operation, _holder_run(holder)) from None
        _write_holder(fd, None, source)
        yield
    finally:
        os.close(fd)  # releases the lock


def _try_lock(fd: int) -> bool:
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        return True
    except BlockingIOError:
        return False


def _write_holder(fd: int, run: OperationRun | None, source: str) -> None:
    me = ProcessRecord.of(os.getpid())
    text = json.dumps({"run": run.id if run else None, "pid": me.pid, "started": me.started,
                       "gives_way": source == "drill" and _giving_way_now()})
    os.ftruncate(fd, 0)
    os.pwrite(fd, text.encode(), 0)


def _read_holder(fd: int) -> dict:
    try:
        holder = json.loads(os.pread(fd, 512, 0) or b"{}")
        return holder if isinstance(holder, dict) else {}
    except (ValueError, OSError):
        return {}


def _hold(settings: Settings, operation: Operation, run: OperationRun, source: str) -> None:
    """Names the run in the group's lock file, so a refused run can name the one holding it."""
    if operation.exclusive is not None:
        fd = os.open(_lock_file(settings, operation.exclusive), os.O_RDWR)
        try:
            _write_holder(fd, run, source)
        finally:
            os.close(fd)


def _refuse_while_busy(settings: Settings, operation: Operation, source: str) -> None:
    """Refuses now what the child would refuse later: the group's lock is held (by a run that does
    not give way to this one)."""
    if operation.exclusive is None:
        return
    path = _lock_file(settings, operation.exclusive)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_CREAT | os.O_RDWR, 0o600)
    try:
        holder = None if _try_lock(fd) else _read_holder(fd)
        if holder is not None and not _gives_way_to(holder, source):
            raise _busy(operation, _holder_run(holder))
    finally:
        os.close(fd)


def _holder_run(holder: dict) -> OperationRun | None:
    try:
        return OperationRun.get_or_none(OperationRun.id == int(holder["run"]))
    except (KeyError, TypeError, ValueError):
        return None


# -- a drill gives way -------------------------------------------------------------------------
# A restore drill is practice; a restore of the shop is the incident it practises for. When an IT
# person's restore needs the lock a drill holds (one restore at a time), waiting for the drill, or
# being told to try again later, would spend the incident's RTO on practice: the drill is stopped
# instead, records that it gave way, and the restore starts within seconds.

GIVE_WAY_SIGNAL = signal.SIGUSR1
GIVE_WAY_SECONDS = 30      # how long a run waits for a drill to let go before it is refused after all


class GaveWay(BaseException):
    """Raised in a drill's main thread when another run needs a lock it holds. A BaseException, so
    that no step's `except Exception` takes it for a failure and carries on with the next step."""


_giving_way = False


@contextmanager
def giving_way() -> Iterator[None]:
    """The body of a drill: while it runs, a run that needs a lock it holds sends GIVE_WAY_SIGNAL and
    GaveWay is raised here. Only in the main thread (where Python runs signal handlers); elsewhere the
    drill's locks are held as any run's."""
    global _giving_way
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.signal(GIVE_WAY_SIGNAL, _give_way)
    _giving_way = True
    try:
        yield
    finally:
        _giving_way = False
        signal.signal(GIVE_WAY_SIGNAL, previous)


def _give_way(signum, frame) -> None:
    raise GaveWay("it gave way to a restore of the shop's own that needed its lock (a drill is practice)")


def _giving_way_now() -> bool:
    return _giving_way


def _gives_way_to(holder: dict, source: str) -> bool:
    return bool(holder.get("gives_way")) and source != "drill"


def _made_to_give_way(fd: int, holder: dict, operation: Operation) -> bool:
    """Signals the drill holding the lock and waits for it to let go; True once this run holds it."""
    record = ProcessRecord(int(holder.get("pid") or 0), float(holder.get("started") or 0))
    if not record.running():
        return _try_lock(fd)  # its holder is gone: the kernel has dropped the lock, or is about to
    log.warning("%s: asking the drill holding its lock (pid %s) to give way", operation.name, record.pid)
    try:
        os.kill(record.pid, GIVE_WAY_SIGNAL)
    except ProcessLookupError:
        pass
    deadline = time.monotonic() + GIVE_WAY_SECONDS
    while time.monotonic() < deadline:
        if _try_lock(fd):
            return True
        time.sleep(0.1)
    return False


def _busy(operation: Operation, holder: OperationRun | None) -> Conflict:
    if holder is None:
        first = "another run of the same kind"
    else:
        first = (f"{holder.operation} (run #{holder.id}, started {holder.started_at:%Y-%m-%d %H:%M:%S} UTC "
                 f"by {holder.actor})")
    return Conflict(f"{operation.name} cannot start: {first} is running on this box; try again when it ends.",
                    [{"operation": operation.name, "running": holder.id if holder else None}])


# -- parameters of queued runs -----------------------------------------------------------------
# The ledger keeps masked parameters; the child needs the real ones. They wait in a file only the
# box's user can read, removed as soon as the child has read them.

def _params_file(settings: Settings, run: OperationRun) -> Path:
    return settings.home / "run" / "operations" / f"{run.id}.params.json"


def _write_params(settings: Settings, run: OperationRun, values: dict) -> None:
    path = _params_file(settings, run)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_CREAT | os.O_WRONLY | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        json.dump(values, f)


def _read_params(settings: Settings, run: OperationRun) -> dict:
    path = _params_file(settings, run)
    try:
        values = json.loads(path.read_text())
    except FileNotFoundError:
        values = json.loads(run.params_json)
    path.unlink(missing_ok=True)
    return values


# -- reading the ledger ------------------------------------------------------------------------

def recent_runs(limit: int = 20, operation: str | None = None) -> list[OperationRun]:
    query = OperationRun.select()
    if operation:
        query = query.where(OperationRun.operation == operation)
    return list(query.order_by(OperationRun.id.desc()).limit(limit))


def params_of(run: OperationRun) -> dict:
    return json.loads(run.params_json or "{}")
