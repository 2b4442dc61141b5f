"""Drills: run a recovery runbook against a sandbox and measure what it achieves, for real.

A drill restores from the shop's real targets (local, SFTP, S3, the replica) into a scratch
database under `drills/<id>/` and serves it on a loopback port; the live database, the live service
and the shop's targets are never written. In the runbook's steps:
- the restore actions restore into the sandbox (`output`, `force`), for real;
- check and verify steps probe the sandbox (its database, its server);
- actions that would write to the shop's targets (a backup, a prune) and shell steps (which act on
  the box itself: `systemctl stop appliance`) are journaled as skipped in a drill;
- manual and approve steps are confirmed by the person running the drill, and journaled so.

**RTO** is measured from the drill's start to the moment the restored instance accepts a test order
(HTTP 201 on the sandbox). **RPO** is measured, not estimated: the live box's newest committed change
when the drill starts (its "disaster": the newest audit event, which every change writes) against
the newest one in the restored copy. The result is recorded on the live box (`record_drill`: the
drill_age check and the appliance_drill_* metrics read it) with the step timeline and a hash of the
evidence, in `drills/<id>/evidence.json`; the sandbox's copy of the shop's data is then deleted.
"""
from __future__ import annotations

import hashlib
import json
import socket
import subprocess
import time
import urllib.error
import urllib.request
from dataclasses import asdict, dataclass, field
from pathlib import Path

from peewee import fn

from appliance import accounts, clock, operations, runtime
from appliance.config import Settings
from appliance.db import database
from appliance.models import AuditEvent, StockLevel
from monitors.recovery_facts import record_drill

from .journal import Journal, new_run_id
from .models import mirror
from .model import Step

RESTORE = "backup.restore"
TOUCHES_THE_SHOPS_TARGETS = ("backup.run", "backup.prune", "backup.verify", "replication.verify", "runbooks.publish")


@dataclass
class DrillResult:
    drill_id: str
    runbook: str
    target: str | None
    actor: str
    started_at: str
    succeeded: bool
    rto_seconds: float | None
    rpo_seconds: float | None
    rto_budget_seconds: int
    rpo_target_seconds: int
    reason: str = ""
    phases: dict[str, float] = field(default_factory=dict)   # seconds from the drill's start
    run_status: str = ""
    evidence_sha256: str = ""
    gave_way: bool = False   # stopped for a restore of the shop's own: no measurement, not a failure

    @property
    def met(self) -> bool:
        return (self.succeeded and self.rto_seconds is not None and self.rto_seconds <= self.rto_budget_seconds
                and self.rpo_seconds is not None and self.rpo_seconds <= self.rpo_target_seconds)


class Sandbox:
    """The scratch database and loopback server a drill restores into and serves."""

    def __init__(self, live: Settings, drill_id: str):
        self.live, self.folder = live, live.home / "drills" / drill_id
        self.folder.mkdir(parents=True, exist_ok=True)
        self.database = self.folder / "appliance.db"
        self.port = _free_port()
        self.process: subprocess.Popen | None = None
        served = sandbox_settings(live, self.database, self.port)
        # probes of the sandbox ask its server, not the one the live box records in run/
        self.settings = served.model_copy(update={
            "monitors": served.monitors.model_copy(update={"readyz_url": f"{self.base_url}/readyz"})})

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def serve(self) -> None:
        """The restored database served by the web app alone: no scheduler, no order writer, no
        replication — nothing that would back up or replicate the sandbox to the shop's targets."""
        log = open(self.folder / "server.log", "ab")
        self.process = subprocess.Popen(
            [*operations.launcher, "--home", str(self.live.home), "drill", "sandbox-serve", "--database",
             str(self.database), "--port", str(self.port)], stdout=log, stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL, start_new_session=True)
        log.close()

    def wait_ready(self, seconds: float = 30) -> bool:
        """Until /readyz answers 200: the runbook's next steps probe a serving box."""
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline and (self.process is None or self.process.poll() is None):
            try:
                with urllib.request.urlopen(f"{self.base_url}/readyz", timeout=2) as answer:
                    if answer.status == 200:
                        return True
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                time.sleep(0.05)
        return False

    def accepts_an_order(self, token: str, sku: str, deadline: float) -> bool:
        """Polls until the sandbox answers a test order with 201 (or the deadline passes)."""
        body = json.dumps({"channel": "phone", "lines": [{"sku": sku, "qty": 1}], "note": "drill test order"}).encode()
        while time.monotonic() < deadline:
            request = urllib.request.Request(f"{self.base_url}/api/v1/orders", data=body, method="POST", headers={
                "Authorization": f"Bearer {token}", "Content-Type": "application/json",
                "Idempotency-Key": f"drill-{self.folder.name}"})
            try:
                with urllib.request.urlopen(request, timeout=5) as answer:
                    if answer.status == 201:
                        return True
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                pass  # not serving yet
            if self.process is not None and self.process.poll() is not None:
                return False
            time.sleep(0.05)
        return False

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()

    def remove_data(self) -> None:
        """The sandbox holds a copy of the shop's customers and orders: it goes when the drill ends."""
        for path in self.folder.glob("appliance.db*"):
            path.unlink(missing_ok=True)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class DrillSteps:
    """How the engine runs a step in a drill (the Runner asks `plan` before each step)."""

    def __init__(self, sandbox: Sandbox, target: str | None, order_timeout: float = 60):
        self.sandbox, self.target, self.order_timeout = sandbox, target, order_timeout
        self.restored_at: float | None = None
        self.restored_newest = None              # the newest change the restored copy holds
        self.accepted_at: float | None = None   # when the sandbox accepted its test order
        self.served = False

    def plan(self, step: Step, params: dict) -> tuple[str, dict, Settings | None]:
        """("run", params, settings) or ("skip", {"why": …}, None)."""
        if step.kind == "shell":
            return "skip", {"why": "shell steps act on the box itself: not run in a drill"}, None
        if step.kind == "action" and step.operation == RESTORE:
            params = {**params, "output": str(self.sandbox.database), "force": True}
            if self.target and not params.get("from_replica"):
                params["target"] = self.target
            return "run", params, self.sandbox.settings
        if step.kind == "action" and (step.operation in TOUCHES_THE_SHOPS_TARGETS or not self.restored):
            return "skip", {"why": f"{step.operation} would act on the live box or the shop's targets"}, None
        return "run", params, self.sandbox.settings

    @property
    def restored(self) -> bool:
        return self.restored_at is not None

    def after(self, step: Step, ok: bool) -> None:
        """Once the sandbox database is restored, the drill works on it (probes read it); at the step
        after which the shop takes orders again (`serves`), the sandbox serves and takes a test order:
        that is where the RTO ends, whatever the runbook verifies afterwards."""
        if step.kind == "action" and step.operation == RESTORE and ok and not self.restored:
            self.restored_at = time.monotonic()
            runtime.connect(self.sandbox.settings)
            self.restored_newest = _newest_change()  # before the drill's own token and test order
        if step.serves and ok and self.restored and not self.served:
            self.serve_and_take_an_order()

    def serve_and_take_an_order(self) -> None:
        self.served = True
        sku, token = _test_order_ingredients(self.sandbox.folder.name)
        self.sandbox.serve()
        if self.sandbox.accepts_an_order(token, sku, time.monotonic() + self.order_timeout):
            self.accepted_at = time.monotonic()


def run_drill(settings: Settings, runbook_id: str, actor: operations.Actor, *, target: str | None = None,
              params: dict[str, str] | None = None, say=lambda line: None, order_timeout: float = 60,
              drill_id: str | None = None) -> DrillResult:
    from . import engine
    runbook = engine._runbook(runbook_id)
    drill_id = drill_id or new_run_id()
    started, started_at = time.monotonic(), clock.now()
    disaster = _newest_change()  # the live box's newest committed change when the "disaster" strikes
    sandbox = Sandbox(settings, drill_id)
    steps = DrillSteps(sandbox, target, order_timeout)
    say(f"drill {drill_id}: {runbook.id} into a sandbox on {sandbox.base_url}; the live box is not touched")
    result = DrillResult(drill_id, runbook.id, target, actor.name, started_at.isoformat(), False, None, None,
                         runbook.rto_budget_seconds, settings.recovery.rpo_seconds)
    params = dict(params or {})
    if target and any(p.name == "target" for p in runbook.params):
        params.setdefault("target", target)
    try:
        with operations.giving_way():
            view = engine.start(settings, runbook.id, params, actor, assume_yes=True, say=say, run_id=drill_id,
                                drill=steps)
        result.run_status = view.status
        result.phases = _phases(view, runbook, started_at)
        if not steps.restored:
            result.reason = f"the runbook restored nothing ({view.status}{': ' + view.reason if view.reason else ''})"
            return result
        if not steps.served:  # a runbook without a `serves` step: the shop is back when it ends
            steps.serve_and_take_an_order()
        accepted = steps.accepted_at is not None
        result.rto_seconds = round(steps.accepted_at - started, 3) if accepted else None
        result.rpo_seconds = _rpo(disaster, steps.restored_newest)
        result.succeeded = accepted and view.status == "completed"
        if not accepted:
            result.reason = "the restored instance did not accept a test order"
        elif view.status != "completed":
            result.reason = f"the runbook ended {view.status}: {view.reason}"
        return result
    except operations.GaveWay as gave:
        result.gave_way, result.reason = True, str(gave)
        Journal(settings.home, drill_id).append({"type": "run", "event": "ended", "status": "aborted",
                                                 "reason": result.reason})
        say(f"drill {drill_id} stopped: {result.reason}")
        return result
    except Exception as error:  # noqa: BLE001 - a drill that breaks is a failed drill, recorded as such
        result.reason = f"{type(error).__name__}: {error}"
        return result
    finally:
        sandbox.stop()
        runtime.connect(settings)  # back to the live database, where the result is recorded
        _record(settings, sandbox, result)
        sandbox.remove_data()


def _newest_change():
    return AuditEvent.select(fn.MAX(AuditEvent.at)).scalar()


def _rpo(disaster, restored) -> float | None:
    if disaster is None:
        return 0.0  # nothing was ever written: nothing can be lost
    if restored is None:
        return None
    return round(max(0.0, (disaster - restored).total_seconds()), 3)


def _test_order_ingredients(drill_id: str) -> tuple[str, str]:
    """A product with stock and a staff token, made in the sandbox's database (a copy)."""
    level = (StockLevel.select().where(StockLevel.on_hand - StockLevel.reserved > 0)
             .order_by(StockLevel.id).first())
    if level is None:
        from appliance import inventory
        inventory.create_product({"sku": "DRILL-TEST", "name": "Drill test", "price_cents": 1}, "drill")
        inventory.receive("DRILL-TEST", 1, "drill")
        sku = "DRILL-TEST"
    else:
        sku = level.product.sku
    _, token = accounts.create_token(f"drill-{drill_id}"[:64], "staff", "drill")
    database.close()  # the sandbox server writes to this file now
    return sku, token


def _phases(view, runbook, started_at) -> dict[str, float]:
    """Seconds from the drill's start at which each phase of the runbook ended."""
    from datetime import datetime
    ends: dict[str, float] = {}
    for step in runbook.steps:
        state = view.steps.get(step.id)
        if state and state.ended:
            ends[step.phase] = round((datetime.fromisoformat(state.ended) - started_at).total_seconds(), 3)
    return ends


def _record(settings: Settings, sandbox: Sandbox, result: DrillResult) -> None:
    evidence = asdict(result)
    journal = settings.home / "runbooks" / "runs" / f"{result.drill_id}.jsonl"
    evidence["journal_sha256"] = hashlib.sha256(journal.read_bytes()).hexdigest() if journal.exists() else None
    text = json.dumps(evidence, indent=2, sort_keys=True)
    result.evidence_sha256 = hashlib.sha256(text.encode()).hexdigest()
    # The file carries the hash of its own body, so the report can tell an edited one.
    (sandbox.folder / "evidence.json").write_text(
        json.dumps({**evidence, "evidence_sha256_of_file": result.evidence_sha256}, indent=2, sort_keys=True))
    with database.connection_context():
        if journal.exists():  # the run's copy belongs in the live database, not the sandbox's
            mirror(Journal(settings.home, result.drill_id).view())
        if result.gave_way:
            return  # it measured nothing: the last drill that did still stands (drill_age, the report)
        record_drill(result.runbook, succeeded=result.succeeded, rto_seconds=result.rto_seconds,
                     rpo_seconds=result.rpo_seconds,
                     note=(f"drill {result.drill_id} from {result.target or 'the runbook default'} by {result.actor}; "
                           f"evidence sha256 {result.evidence_sha256}" + (f"; {result.reason}" if result.reason else "")))


def sandbox_settings(live: Settings, database_path: Path, port: int) -> Settings:
    """What `appliance drill sandbox-serve` serves: the live config, the sandbox's database."""
    return live.model_copy(update={
        "database": live.database.model_copy(update={"url": f"sqlite:///{database_path}"}),
        "server": live.server.model_copy(update={"host": "127.0.0.1", "port": port})})

