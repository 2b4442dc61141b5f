"""Runs a runbook step by step, journaling each step as it happens, and resumes an interrupted run.

- `check`/`verify` steps run a read-only registered operation and compare its result with `expect`;
  `action` steps run a registered operation (nothing here re-implements a restore); `shell` steps
  run a command here or over SSH; `manual`/`approve` steps wait for a person (`confirm`), each with
  its own timeout: an approval never waits forever.
- A failed step stops the run, is noted and passed (`continue`), or rolls back: the `rollback`
  steps of the steps done so far run newest first, and a failed rollback fails the run.
- Dry run: checks and verifies run for real; actions and shell steps say what they would do.
- The RTO clock: elapsed time since the run began, and the finish projected from the remaining
  steps' expected durations, against the runbook's budget.
"""
from __future__ import annotations

import json
import logging
import os
import subprocess
import threading
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from string import Template
from typing import Any, Callable

from appliance import clock, operations
from appliance.config import Settings
from appliance.accounts import role_allows
from appliance.errors import AppError, Conflict, Forbidden, Invalid, NotFound

from .journal import Journal, Masker, RunView, StepView, all_runs, me, new_run_id
from .loader import load_library
from .model import Runbook, Step

OUTPUT_LIMIT = 4000
log = logging.getLogger(__name__)


class RunbookError(AppError):
    status = 409


@dataclass
class Progress:
    """What the CLI and the web show after each step."""
    elapsed: float
    projected: float
    budget: int

    @property
    def over_budget(self) -> bool:
        return self.projected > self.budget

    def line(self) -> str:
        text = (f"RTO clock: {_duration(self.elapsed)} elapsed, finish projected at {_duration(self.projected)} "
                f"(budget {_duration(self.budget)})")
        return text + (" — WARNING: the projection exceeds the RTO budget" if self.over_budget else "")


def _duration(seconds: float) -> str:
    seconds = int(round(seconds))
    return f"{seconds // 60} min {seconds % 60:02d} s" if seconds >= 60 else f"{seconds} s"


class Runner:
    """Drives one run. `say` receives one line per event (the CLI prints them)."""

    def __init__(self, settings: Settings, runbook: Runbook, journal: Journal, actor: operations.Actor, *,
                 params: dict[str, str], dry_run: bool = False, assume_yes: bool = False,
                 say: Callable[[str], None] = lambda line: None, drill=None):
        self.settings, self.runbook, self.journal, self.actor = settings, runbook, journal, actor
        self.params, self.dry_run, self.assume_yes, self.say = params, dry_run, assume_yes, say
        self.drill = drill  # runbooks.drill.DrillSteps: the sandbox a drill runs the steps against

    # -- the run -------------------------------------------------------------------------------

    def run(self) -> RunView:
        """From the first unfinished step to the end, or until a step waits for a person."""
        view = self.journal.view()
        done: list[Step] = [s for s in self.runbook.steps if view.steps.get(s.id, StepView(s.id)).finished]
        for step in self.runbook.steps:
            state = view.steps.get(step.id, StepView(step.id))
            if state.finished and not (step.rerun_on_resume and state.attempt and self._resuming(view)):
                continue
            outcome = self._step(step, state)
            if outcome == "waiting":
                return self.journal.view()
            if outcome in ("failed", "timed-out"):
                return self._after_failure(step, done, outcome)
            done.append(step)
            self.say(self.progress().line())
        self.journal.append({"type": "run", "event": "ended", "status": "completed"})
        return self.journal.view()

    def _resuming(self, view: RunView) -> bool:
        return any(e["event"] == "resumed" for e in view.events)

    def _after_failure(self, step: Step, done: list[Step], outcome: str) -> RunView:
        if step.kind in ("manual", "approve") and outcome == "timed-out" and step.on_timeout == "continue":
            self.journal.append({"type": "step", "step": step.id, "state": "timed-out-continued",
                                 "attempt": self._attempt(step), "actor": "timeout"})
            return self.run()
        if step.on_failure == "continue":
            self.journal.append({"type": "step", "step": step.id, "state": "failed-continued",
                                 "attempt": self._attempt(step), "actor": self.actor.name})
            return self.run()
        reason = f"step {step.id} {outcome}"
        if step.on_failure == "rollback":
            if not self._roll_back([*done, step]):
                reason += "; its rollback failed too"
            else:
                reason += "; rolled back"
        self.journal.append({"type": "run", "event": "ended", "status": "failed", "reason": reason})
        self.say(f"run failed: {reason}")
        return self.journal.view()

    def _roll_back(self, steps: list[Step]) -> bool:
        """The rollback steps of `steps`, newest first; a failed rollback fails the run
        (chaostoolkit-lib#94 reported success after a failed rollback)."""
        ok = True
        for step in reversed(steps):
            for undo in step.rollback:
                if self._step(undo, StepView(undo.id)) != "ok":
                    ok = False
        return ok

    # -- one step ------------------------------------------------------------------------------

    def _step(self, step: Step, state: StepView) -> str:
        attempt = state.attempt + 1 if state.state != "waiting" else state.attempt
        if step.kind in ("manual", "approve"):
            return self._human_step(step, state, attempt)
        if state.state == "running" and not step.safe_to_repeat and not self.assume_yes:
            raise RunbookError(f"Step {step.id} was running when the run stopped and is not safe to repeat: "
                               f"check what it did, then resume with --yes to run it again.")
        self.say(f"[{step.kind}] {step.id}: {step.title}")
        record = {"type": "step", "step": step.id, "kind": step.kind, "attempt": attempt, "actor": self.actor.name}
        self.journal.append({**record, "state": "running"})
        if self.dry_run and step.kind in ("action", "shell"):
            what = self._describe(step)
            self.journal.append({**record, "state": "dry-run", "output": what})
            self.say(f"    would {what}")
            return "ok"
        params, settings = {k: self._fill(v) for k, v in step.params.items()}, self.settings
        if self.drill is not None:
            decision, params, settings = self.drill.plan(step, params)
            if decision == "skip":
                self.journal.append({**record, "state": "skipped", "output": f"drill: {params['why']}"})
                self.say(f"    skipped in a drill: {params['why']}")
                return "ok"
        outcome = self._run_step(step, record, params, settings)
        if self.drill is not None:
            self.drill.after(step, outcome == "ok")
        return outcome

    def _run_step(self, step: Step, record: dict, params: dict, settings: Settings) -> str:
        try:
            output = _with_timeout(lambda: self._execute(step, params, settings), step.timeout_seconds)
        except TimeoutError:
            self.journal.append({**record, "state": "timed-out", "error": f"timed out after {step.timeout_seconds:g} s"})
            self.say(f"    timed out after {step.timeout_seconds:g} s")
            return "timed-out"
        except StepFailed as failure:
            self.journal.append({**record, "state": "failed", "error": str(failure), "output": failure.output})
            self.say(f"    FAILED: {failure}")
            return "failed"
        self.journal.append({**record, "state": "ok", "output": output})
        self.say(f"    ok: {output[:200]}")
        return "ok"

    def _human_step(self, step: Step, state: StepView, attempt: int) -> str:
        record = {"type": "step", "step": step.id, "kind": step.kind, "attempt": attempt}
        if state.state == "waiting":
            if _past(state.waiting_since, step.timeout_seconds):
                self.journal.append({**record, "state": "timed-out", "actor": "timeout",
                                     "error": f"no {'approval' if step.kind == 'approve' else 'confirmation'} "
                                              f"within {step.timeout_seconds:g} s"})
                self.say(f"[{step.kind}] {step.id}: timed out")
                return "timed-out"
            return "waiting"
        if self.drill is not None:  # the person running the drill stands in for everyone it asks
            state_name = "approved" if step.kind == "approve" else "confirmed"
            self.journal.append({**record, "state": state_name, "actor": self.actor.name,
                                 "output": "drill: confirmed by the person running it"})
            self.say(f"[{step.kind}] {step.id}: {state_name} for the drill")
            self.drill.after(step, True)
            return "ok"
        if self.assume_yes and step.kind == "manual":
            self.journal.append({**record, "state": "confirmed", "actor": self.actor.name, "output": "--yes"})
            self.say(f"[manual] {step.id}: confirmed with --yes")
            return "ok"
        self.journal.append({**record, "state": "waiting", "actor": None,
                             "output": self._fill(step.instruction or "")})
        self.journal.append({"type": "run", "event": "waiting",
                             "reason": f"step {step.id} waits for {step.role or self.runbook.least_role}"})
        self.say(f"[{step.kind}] {step.id}: {self._fill(step.instruction or '')}")
        self.say(f"    waiting: appliance runbook confirm {self.journal.run_id} {step.id}"
                 f" (role {step.role or self.runbook.least_role}, within {_duration(step.timeout_seconds)})")
        return "waiting"

    def _execute(self, step: Step, params: dict, settings: Settings) -> str:
        if step.kind in ("check", "verify", "action"):
            return self._operation(step, params, settings)
        return self._shell(step)

    def _operation(self, step: Step, params: dict, settings: Settings) -> str:
        try:
            result = operations.execute(settings, step.operation, params, actor=self.actor,
                                        source="drill" if self.drill is not None else "runbook", show_progress=False)
        except AppError as e:
            raise StepFailed(e.message) from None
        except Exception as e:  # noqa: BLE001 - any failure of an action is the step's failure
            raise StepFailed(f"{type(e).__name__}: {e}") from None
        found = _fields(result)
        if step.kind in ("check", "verify"):
            wrong = {k: found.get(k) for k, v in step.expect.items() if str(found.get(k)) != str(self._fill(v))}
            if wrong:
                raise StepFailed("expected " + ", ".join(f"{k}={step.expect[k]}" for k in wrong)
                                 + "; got " + ", ".join(f"{k}={v}" for k, v in wrong.items()),
                                 _text(found))
            return _text(found)
        return operations.get(step.operation).record(result).summary or _text(found)  # what the ledger says

    def _shell(self, step: Step) -> str:
        command = self._fill(step.command or "")
        if step.ssh is not None:
            return _over_ssh(self.settings, step, command)
        done = subprocess.run(["/bin/sh", "-c", command], capture_output=True, text=True,
                              timeout=step.timeout_seconds, cwd=self.settings.home)
        output = (done.stdout + done.stderr)[-OUTPUT_LIMIT:]
        if done.returncode != 0:
            raise StepFailed(f"exit status {done.returncode}", output)
        return output

    def _describe(self, step: Step) -> str:
        if step.kind == "shell":
            where = f" on {step.ssh.user}@{step.ssh.host}" if step.ssh else ""
            return f"run `{self._fill(step.command or '')}`{where}"
        params = {k: self._fill(v) for k, v in step.params.items()}
        return f"run {step.operation} with {json.dumps(operations.get(step.operation).masked(params))}"

    def _fill(self, value: Any) -> Any:
        return Template(value).safe_substitute(self.params) if isinstance(value, str) else value

    def _attempt(self, step: Step) -> int:
        return self.journal.view().steps.get(step.id, StepView(step.id)).attempt

    def progress(self) -> Progress:
        view = self.journal.view()
        remaining = sum(s.expected_seconds for s in self.runbook.steps
                        if not view.steps.get(s.id, StepView(s.id)).finished)
        elapsed = view.elapsed_seconds()
        return Progress(elapsed, elapsed + remaining, self.runbook.rto_budget_seconds)


class StepFailed(Exception):
    def __init__(self, message: str, output: str = ""):
        super().__init__(message)
        self.output = output


def _with_timeout(work: Callable[[], str], seconds: float) -> str:
    """Runs `work` on a thread and gives up waiting after `seconds` (the operation itself may still
    finish: exclusive operations keep a second one from starting meanwhile)."""
    box: dict[str, Any] = {}

    def target() -> None:
        from appliance.db import database
        try:
            box["value"] = work()
        except BaseException as e:  # noqa: BLE001 - handed to the caller
            box["error"] = e
        finally:
            # This thread's own connection (opened by the first query), closed here rather than in a
            # connection_context: a restore re-initialises the database under it and closes it itself.
            if database.obj is not None and not database.is_closed():
                database.close()

    thread = threading.Thread(target=target, daemon=True)
    thread.start()
    thread.join(seconds)
    if thread.is_alive():
        raise TimeoutError
    if "error" in box:
        raise box["error"]
    return box["value"]


def _fields(result: Any) -> dict:
    if isinstance(result, dict):
        return result
    if hasattr(result, "__dataclass_fields__"):
        return {k: getattr(result, k) for k in result.__dataclass_fields__}
    if hasattr(result, "__data__"):  # a peewee row
        return dict(result.__data__)
    return {"result": result}


def _text(fields: dict) -> str:
    return ", ".join(f"{k}={v}" for k, v in fields.items())[:OUTPUT_LIMIT]


def _past(since: str | None, seconds: float) -> bool:
    return since is not None and clock.now() >= datetime.fromisoformat(since) + timedelta(seconds=seconds)


def _over_ssh(settings: Settings, step: Step, command: str) -> str:
    """paramiko with the step's pinned host key: an unknown or changed key is refused, never accepted."""
    import paramiko
    client = paramiko.SSHClient()
    client.set_missing_host_key_policy(paramiko.RejectPolicy())
    kind, key = step.ssh.host_key.split()[:2]
    host = step.ssh.host if step.ssh.port == 22 else f"[{step.ssh.host}]:{step.ssh.port}"
    client.get_host_keys().add(host, kind, paramiko.PKey.from_type_string(kind, __import__("base64").b64decode(key)))
    try:
        client.connect(step.ssh.host, port=step.ssh.port, username=step.ssh.user,
                       key_filename=str(settings.path(step.ssh.key_file)), look_for_keys=False, allow_agent=False,
                       timeout=min(step.timeout_seconds, 30))
        _, stdout, stderr = client.exec_command(command, timeout=step.timeout_seconds)
        status = stdout.channel.recv_exit_status()
        output = (stdout.read() + stderr.read()).decode("utf-8", "replace")[-OUTPUT_LIMIT:]
    except (paramiko.SSHException, OSError) as e:
        raise StepFailed(f"SSH to {step.ssh.host}: {e}") from None
    finally:
        client.close()
    if status != 0:
        raise StepFailed(f"exit status {status}", output)
    return output


# -- starting, resuming, confirming ----------------------------------------------------------------

def start(settings: Settings, runbook_id: str, raw_params: dict[str, str], actor: operations.Actor, *,
          dry_run: bool = False, assume_yes: bool = False, say: Callable[[str], None] = lambda line: None,
          run_id: str | None = None, drill=None) -> RunView:
    runbook = _runbook(runbook_id)
    _check_role(runbook.least_role, actor, f"runbook {runbook.id}")
    params = _params(runbook, raw_params)
    run_id = run_id or new_run_id()
    journal = Journal(settings.home, run_id, _masker(settings, runbook, params))
    _keep_secret_params(settings, runbook, run_id, params)
    say(f"run {run_id}")
    with journal.exclusive():
        journal.append({"type": "run", "event": "started", "runbook": runbook.id, "actor": actor.name,
                        "role": actor.role, "dry_run": dry_run, "drill": drill is not None,
                        "rto_budget_seconds": runbook.rto_budget_seconds,
                        "params": _masked_params(runbook, params), **me()})
        return _finish(settings, runbook, journal, actor, params, dry_run, assume_yes, say, drill)


def resume(settings: Settings, run_id: str, actor: operations.Actor, *, assume_yes: bool = False,
           say: Callable[[str], None] = lambda line: None) -> RunView:
    journal, view, runbook = _open(settings, run_id)
    _check_role(runbook.least_role, actor, f"runbook {runbook.id}")
    if view.status in ("completed", "failed", "aborted"):
        raise RunbookError(f"Run {run_id} has ended ({view.status}); start a new run instead.")
    params = _stored_params(settings, runbook, view)
    journal.masker = _masker(settings, runbook, params)
    with journal.exclusive() as mine:
        if not mine:
            raise Conflict(f"Run {run_id} is being driven by another process right now.")
        view = journal.view()
        if view.status == "interrupted" or view.status == "running":
            journal.append({"type": "run", "event": "resumed", "actor": actor.name, "after": view.status, **me()})
            say(f"resuming run {run_id} ({view.status})")
        else:  # waiting: a confirmation or a timeout lets it go on
            journal.append({"type": "run", "event": "resumed", "actor": actor.name, "after": "waiting", **me()})
        return _finish(settings, runbook, journal, actor, params, view.dry_run, assume_yes, say)


def confirm(settings: Settings, run_id: str, step_id: str, actor: operations.Actor, note: str = "", *,
            say: Callable[[str], None] = lambda line: None) -> RunView:
    """A person confirms a manual step (or approves an approve step), then the run goes on here."""
    view = _record_confirmation(settings, run_id, step_id, actor, note)
    say(f"{step_id} confirmed by {actor.name}" if view else f"{step_id}: too late, the step timed out")
    # The run goes on as the person who started it: approving is not taking it over.
    _, current, _ = _open(settings, run_id)
    return resume(settings, run_id, operations.Actor(current.actor, current.role), say=say)


def _record_confirmation(settings: Settings, run_id: str, step_id: str, actor: operations.Actor,
                         note: str) -> RunView | None:
    """Journals the confirmation; None when it came too late (resuming then records the timeout)."""
    journal, view, runbook = _open(settings, run_id)
    try:
        step = runbook.step(step_id)
    except KeyError:
        raise NotFound(f"Runbook {runbook.id} has no step {step_id!r}.") from None
    state = view.steps.get(step_id)
    if step.kind not in ("manual", "approve") or state is None or state.state != "waiting":
        raise RunbookError(f"Step {step_id} of run {run_id} is not waiting for a confirmation "
                           f"({state.state if state else 'not reached yet'}).")
    _check_role(step.role or runbook.least_role, actor, f"step {step_id}")
    if _past(state.waiting_since, step.timeout_seconds):
        return None
    journal.append({"type": "step", "step": step_id, "kind": step.kind, "attempt": state.attempt,
                    "state": "approved" if step.kind == "approve" else "confirmed", "actor": actor.name,
                    "output": note})
    return journal.view()


def runs(settings: Settings) -> list[RunView]:
    return all_runs(settings.home)


# -- from the web: the run goes on in a child process, never in a request ----------------------------

def start_in_background(settings: Settings, runbook_id: str, raw_params: dict[str, str], actor: operations.Actor,
                        *, dry_run: bool = False) -> str:
    """Checks what can be checked now (runbook, role, parameters), then starts `appliance runbook
    run` in a child process as `actor`; returns the run id the child will journal under."""
    runbook = _runbook(runbook_id)
    _check_role(runbook.least_role, actor, f"runbook {runbook.id}")
    params = _params(runbook, raw_params)
    run_id = new_run_id()
    _write_params(_secrets_file(settings, run_id), params)  # all of them: the child's command line is public
    _spawn(settings, run_id, ["runbook", "run", runbook.id, "--run-id", run_id, *(["--dry-run"] if dry_run else [])],
           actor)
    return run_id


def drill_in_background(settings: Settings, runbook_id: str, target: str | None, actor: operations.Actor) -> str:
    """A drill started from the web: `appliance drill run` in a child process; returns its run id."""
    runbook = _runbook(runbook_id)
    _check_role(runbook.least_role, actor, f"runbook {runbook.id}")
    run_id = new_run_id()
    _spawn(settings, run_id, ["drill", "run", runbook.id, "--run-id", run_id, *(["--target", target] if target else [])],
           actor)
    return run_id


def continue_in_background(settings: Settings, run_id: str) -> None:
    """After a confirmation from the web, the run goes on as the person who started it."""
    _, view, _ = _open(settings, run_id)
    _spawn(settings, run_id, ["runbook", "resume", run_id], operations.Actor(view.actor, view.role))


def confirm_only(settings: Settings, run_id: str, step_id: str, actor: operations.Actor, note: str = "") -> None:
    """Records a confirmation or approval (role-checked) without driving the run on."""
    _record_confirmation(settings, run_id, step_id, actor, note)


def _spawn(settings: Settings, run_id: str, args: list[str], actor: operations.Actor) -> None:
    log = settings.home / "logs" / "runbooks" / f"{run_id}.log"
    log.parent.mkdir(parents=True, exist_ok=True)
    with open(log, "ab") as out:
        subprocess.Popen([*operations.launcher, "--home", str(settings.home), *args,
                          "--as", f"{actor.name}:{actor.role}"],
                         stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT, start_new_session=True,
                         close_fds=True)


def _finish(settings, runbook, journal, actor, params, dry_run, assume_yes, say, drill=None) -> RunView:
    runner = Runner(settings, runbook, journal, actor, params=params, dry_run=dry_run, assume_yes=assume_yes, say=say,
                    drill=drill)
    view = runner.run()
    if view.status in ("completed", "failed", "aborted"):
        _forget_secret_params(settings, view.id)
        _mirror(view)
        say(f"run {view.id} {view.status} in {_duration(view.elapsed_seconds())} "
            f"(RTO budget {_duration(runbook.rto_budget_seconds)})")
    return view


def _mirror(view: RunView) -> None:
    """The ended run's copy in the database (runbooks/models.py); the journal file stays the record."""
    from .models import mirror
    try:
        mirror(view)
    except Exception as error:  # noqa: BLE001 - an unusable database must not fail a finished run
        log.warning("run %s not copied into the database: %s", view.id, error)


def _open(settings: Settings, run_id: str) -> tuple[Journal, RunView, Runbook]:
    journal = Journal(settings.home, run_id)
    try:
        view = journal.view()
    except ValueError:
        raise NotFound(f"There is no runbook run {run_id!r} (see `appliance runbook runs`).") from None
    return journal, view, _runbook(view.runbook)


def _runbook(runbook_id: str) -> Runbook:
    library = load_library()
    if runbook_id not in library:
        raise NotFound(f"There is no runbook {runbook_id!r} (see `appliance runbook list`).")
    return library[runbook_id]


def _check_role(needed: str, actor: operations.Actor, what: str) -> None:
    if not role_allows(actor.role, needed):
        raise Forbidden(f"{what} needs the {needed} role; {actor.name} is {actor.role}.")


def _params(runbook: Runbook, raw: dict[str, str]) -> dict[str, str]:
    known = {p.name: p for p in runbook.params}
    unknown = sorted(set(raw) - set(known))
    if unknown:
        raise Invalid(f"Runbook {runbook.id} takes no parameter {unknown[0]} "
                      f"(it takes: {', '.join(known) or 'none'}).")
    values = {}
    for name, param in known.items():
        value = raw.get(name, param.default)
        if value in (None, "") and param.required:
            raise Invalid(f"Runbook {runbook.id} needs --param {name}=… ({param.help}).")
        values[name] = "" if value is None else str(value)
    return values


def _masked_params(runbook: Runbook, params: dict) -> dict:
    secret = {p.name for p in runbook.params if p.secret}
    return {k: (operations.MASK if k in secret and v else v) for k, v in params.items()}


def _masker(settings: Settings, runbook: Runbook, params: dict) -> Masker:
    """Secret parameters, and the secrets the box's config points to (their file contents)."""
    values = {v for k, v in params.items() if any(p.name == k and p.secret for p in runbook.params)}
    for path in _secret_files(settings):
        try:
            values.add(path.read_text().strip())
        except OSError:
            continue
    return Masker(values)


def _secret_files(settings: Settings) -> list[Path]:
    files = [settings.path(settings.backup.key_file)]
    for target in settings.backup.targets:
        for name in ("secret_access_key_file",):
            if getattr(target, name, None):
                files.append(settings.path(getattr(target, name)))
    smtp = settings.monitors.smtp.password_file
    if smtp:
        files.append(settings.path(smtp))
    return files


def _secrets_file(settings: Settings, run_id: str) -> Path:
    return settings.home / "runbooks" / "runs" / f"{run_id}.params.json"


def _keep_secret_params(settings: Settings, runbook: Runbook, run_id: str, params: dict) -> None:
    """A resumed run needs its secret parameters; they wait in a 0600 file removed when it ends."""
    secret = {p.name: params[p.name] for p in runbook.params if p.secret and params.get(p.name)}
    path = _secrets_file(settings, run_id)
    if secret:
        _write_params(path, secret)
    else:
        path.unlink(missing_ok=True)


def _write_params(path: Path, values: dict) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_CREAT | os.O_WRONLY | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        json.dump(values, f)


def queued_params(settings: Settings, run_id: str) -> dict:
    """The parameters a web start left for its child (read before the child journals the run)."""
    try:
        return json.loads(_secrets_file(settings, run_id).read_text())
    except FileNotFoundError:
        return {}


def _stored_params(settings: Settings, runbook: Runbook, view: RunView) -> dict:
    params = dict(view.params)
    try:
        params.update(json.loads(_secrets_file(settings, view.id).read_text()))
    except FileNotFoundError:
        pass
    return params


def _forget_secret_params(settings: Settings, run_id: str) -> None:
    _secrets_file(settings, run_id).unlink(missing_ok=True)

