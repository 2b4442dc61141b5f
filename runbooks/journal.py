"""The journal of one runbook run: an append-only file of JSON lines, fsynced per record.

It lives under the home (`runbooks/runs/<run id>.jsonl`), not only in the database, because the
very thing a runbook does — a restore — replaces the database; the file outlives it. Replaying the
file gives the run's state: each step's latest record (state, attempt, who, start, end, output) and
the run's status. Resume is: replay, then continue at the first unfinished step (Chaos Toolkit's
journal; AWS DRS keeps each step as its own record with an attempt count, as here).

Secrets are masked by value before a record is written: every value in `Masker` (secret
parameters, secrets the box's config points to) becomes ••••••, wherever it appears.
"""
from __future__ import annotations

import fcntl
import json
import os
import secrets
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, Iterator

from appliance import clock
from appliance.processes import ProcessRecord

MASK = "••••••"
FINISHED_STEP_STATES = ("ok", "skipped", "confirmed", "approved", "failed-continued", "timed-out-continued",
                        "dry-run")
RUN_STATUSES = ("running", "waiting", "completed", "failed", "aborted", "interrupted")


class Masker:
    """Replaces known secret values in any text (longest first, so a secret containing another is
    masked whole). Values shorter than 4 characters are not secrets worth masking (they would
    garble ordinary words)."""

    def __init__(self, values: set[str] | None = None):
        self.values = sorted({v for v in (values or set()) if isinstance(v, str) and len(v) >= 4}, key=len,
                             reverse=True)

    def text(self, value: str) -> str:
        for secret in self.values:
            value = value.replace(secret, MASK)
        return value

    def any(self, value: Any) -> Any:
        if isinstance(value, str):
            return self.text(value)
        if isinstance(value, dict):
            return {k: self.any(v) for k, v in value.items()}
        if isinstance(value, (list, tuple)):
            return [self.any(v) for v in value]
        return value


def runs_dir(home: Path) -> Path:
    return home / "runbooks" / "runs"


def new_run_id(now: datetime | None = None) -> str:
    """Sorts by time, like backup ids: rb-20261202T031500Z-ab12."""
    now = now or clock.now()
    return f"rb-{now:%Y%m%dT%H%M%SZ}-{secrets.token_hex(2)}"


@dataclass
class StepView:
    id: str
    state: str = "pending"
    attempt: int = 0
    actor: str | None = None
    started: str | None = None
    ended: str | None = None
    output: str = ""
    error: str | None = None
    waiting_since: str | None = None
    history: list[dict] = field(default_factory=list)

    @property
    def finished(self) -> bool:
        return self.state in FINISHED_STEP_STATES

    @property
    def seconds(self) -> float | None:
        if self.started and self.ended:
            return (datetime.fromisoformat(self.ended) - datetime.fromisoformat(self.started)).total_seconds()
        return None


@dataclass
class RunView:
    id: str
    runbook: str
    params: dict
    actor: str                    # who started it: later steps run as them, whoever confirms
    role: str
    dry_run: bool
    started: str
    rto_budget_seconds: int
    status: str = "running"
    ended: str | None = None
    reason: str | None = None
    steps: dict[str, StepView] = field(default_factory=dict)
    events: list[dict] = field(default_factory=list)
    pid: int | None = None
    pid_started: float | None = None

    def elapsed_seconds(self, now: datetime | None = None) -> float:
        end = datetime.fromisoformat(self.ended) if self.ended else (now or clock.now())
        return (end - datetime.fromisoformat(self.started)).total_seconds()


class Journal:
    def __init__(self, home: Path, run_id: str, masker: Masker | None = None):
        self.home, self.run_id = home, run_id
        self.path = runs_dir(home) / f"{run_id}.jsonl"
        self.masker = masker or Masker()

    def append(self, record: dict) -> None:
        record = self.masker.any({"at": clock.now().isoformat(), **record})
        line = json.dumps(record, ensure_ascii=False, default=str) + "\n"
        new = not self.path.exists()
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        try:
            os.write(fd, line.encode())
            os.fsync(fd)
        finally:
            os.close(fd)
        if new:  # the file's name must survive a power cut too
            dir_fd = os.open(self.path.parent, os.O_RDONLY)
            try:
                os.fsync(dir_fd)
            finally:
                os.close(dir_fd)

    def records(self) -> list[dict]:
        try:
            lines = self.path.read_text(encoding="utf-8").splitlines()
        except FileNotFoundError:
            return []
        out = []
        for line in lines:
            try:
                out.append(json.loads(line))
            except json.JSONDecodeError:
                break  # a record cut by a crash mid-write is the end of what happened
        return out

    def view(self) -> RunView:
        return replay(self.records(), self.run_id)

    @contextmanager
    def exclusive(self) -> Iterator[bool]:
        """One process drives a run at a time; yields False if another already does."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path.with_suffix(".lock"), os.O_CREAT | os.O_RDWR, 0o600)
        try:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                yield False
                return
            yield True
        finally:
            os.close(fd)


def replay(records: list[dict], run_id: str) -> RunView:
    if not records or records[0].get("event") != "started":
        raise ValueError(f"run {run_id} has no journal")
    first = records[0]
    run = RunView(id=run_id, runbook=first["runbook"], params=first.get("params", {}), actor=first["actor"],
                  role=first.get("role", "admin"), dry_run=first.get("dry_run", False), started=first["at"],
                  rto_budget_seconds=first["rto_budget_seconds"], pid=first.get("pid"),
                  pid_started=first.get("pid_started"))
    for record in records:
        if record["type"] == "run":
            _apply_run_event(run, record)
        else:
            _apply_step(run, record)
    if run.status in ("running",) and not _alive(run.pid, run.pid_started):
        run.status, run.reason = "interrupted", "the process driving it ended without finishing"
    return run


def _apply_run_event(run: RunView, record: dict) -> None:
    run.events.append(record)
    event = record["event"]
    if event in ("started", "resumed"):
        run.status, run.ended, run.reason = "running", None, None
        run.pid, run.pid_started = record.get("pid"), record.get("pid_started")
    elif event == "waiting":
        run.status, run.reason = "waiting", record.get("reason")
    elif event == "ended":
        run.status, run.ended, run.reason = record["status"], record["at"], record.get("reason")


def _apply_step(run: RunView, record: dict) -> None:
    step = run.steps.setdefault(record["step"], StepView(record["step"]))
    step.history.append(record)
    step.state = record["state"]
    step.attempt = record.get("attempt", step.attempt)
    step.actor = record.get("actor", step.actor)
    if record["state"] == "running":
        step.started, step.ended, step.error, step.output = record["at"], None, None, ""
    elif record["state"] == "waiting":
        step.waiting_since = step.waiting_since or record["at"]
        step.started = step.started or record["at"]
    else:
        step.ended = record["at"]
        step.output = record.get("output", step.output) or ""
        step.error = record.get("error")


def _alive(pid: int | None, started: float | None) -> bool:
    return pid is not None and started is not None and ProcessRecord(pid, started).running()


def me() -> dict:
    record = ProcessRecord.of(os.getpid())
    return {"pid": record.pid, "pid_started": record.started}


def all_runs(home: Path) -> list[RunView]:
    runs = []
    for path in sorted(runs_dir(home).glob("rb-*.jsonl"), reverse=True):
        try:
            runs.append(Journal(home, path.stem).view())
        except (ValueError, KeyError):
            continue
    return runs
