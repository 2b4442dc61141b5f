"""/ops/runbooks: the library (admin runs, managers read), a runbook's steps and its start form, and
a run's page followed live: each step's state and timing, the RTO clock, the confirm/approve buttons
for the steps waiting for someone (the step's role decides who), resume for an interrupted run.

A run started or continued here goes on in a child process (`appliance runbook run|resume`), never
in a request: a restore can take minutes, and the journal, not the page, holds the truth.
"""
from __future__ import annotations

from datetime import datetime, timezone

from flask import Blueprint, abort, flash, g, redirect, render_template, request, url_for

from appliance import operations
from appliance.accounts import role_allows
from appliance.errors import AppError
from runbooks import engine
from runbooks.journal import Journal, RunView
from runbooks.loader import load_library

from . import settings
from .security import requires

blueprint = Blueprint("runbooks", __name__)


def _actor() -> operations.Actor:
    return operations.Actor(g.user.username, g.user.role)


def _utc(text: str | None) -> datetime | None:
    """A journal time (aware ISO) as the naive UTC the pages' `when` filter shows."""
    return datetime.fromisoformat(text).astimezone(timezone.utc).replace(tzinfo=None) if text else None


@blueprint.get("/ops/runbooks")
@requires("manager")
def runbooks_page():
    library = load_library()
    runs = engine.runs(settings())[:30]
    return render_template("runbooks/list.html", library=library.values(), runs=runs, utc=_utc)


@blueprint.get("/ops/runbooks/<runbook_id>")
@requires("manager")
def runbook_page(runbook_id: str):
    runbook = load_library().get(runbook_id) or abort(404)
    may_run = role_allows(g.user.role, runbook.least_role)
    return render_template("runbooks/show.html", runbook=runbook, may_run=may_run,
                           targets=[t.name for t in settings().backup.targets],
                           restores=any(s.operation == "backup.restore" for s in runbook.steps))


@blueprint.post("/ops/runbooks/<runbook_id>/start")
@requires("admin")
def start_runbook(runbook_id: str):
    runbook = load_library().get(runbook_id) or abort(404)
    params = {p.name: request.form.get(p.name, "") for p in runbook.params if request.form.get(p.name)}
    return _go_to_the_run(runbook, lambda: engine.start_in_background(
        settings(), runbook.id, params, _actor(), dry_run=request.form.get("dry_run") == "true"))


@blueprint.post("/ops/runbooks/<runbook_id>/drill")
@requires("admin")
def drill_runbook(runbook_id: str):
    """A drill: the runbook against a sandbox, from a real target; followed on the run's page, and
    its result lands in the drill report."""
    runbook = load_library().get(runbook_id) or abort(404)
    target = (request.form.get("target") or "").strip() or None
    if target and target not in {t.name for t in settings().backup.targets}:
        flash(f"There is no target {target!r} on this box.", "error")
        return redirect(url_for(".runbook_page", runbook_id=runbook.id))
    return _go_to_the_run(runbook, lambda: engine.drill_in_background(settings(), runbook.id, target, _actor()))


def _go_to_the_run(runbook, start):
    """Starts a run in a child process and sends the browser to its page; a refusal (role, a
    parameter) is said on the runbook's page."""
    try:
        run_id = start()
    except AppError as refused:
        flash(refused.message, "error")
        return redirect(url_for(".runbook_page", runbook_id=runbook.id))
    return redirect(url_for(".run_page", run_id=run_id))


@blueprint.get("/ops/runbooks/runs/<run_id>")
@requires("manager")
def run_page(run_id: str):
    current = settings()
    journal = Journal(current.home, run_id)
    if not journal.path.exists():
        if not engine.queued_params(current, run_id) and not (current.home / "logs" / "runbooks" / f"{run_id}.log").exists():
            abort(404)
        return render_template("runbooks/starting.html", run_id=run_id)
    view = journal.view()
    runbook = load_library().get(view.runbook) or abort(404)
    return render_template("runbooks/run.html", run=view, runbook=runbook, steps=_step_rows(view, runbook),
                           clock=_clock(view, runbook), utc=_utc, working=view.status == "running",
                           may_resume=role_allows(g.user.role, runbook.least_role))


@blueprint.post("/ops/runbooks/runs/<run_id>/confirm/<step_id>")
@requires("staff")  # the step's own role decides (checked by the engine): a 403 page for others
def confirm_step(run_id: str, step_id: str):
    try:
        engine.confirm_only(settings(), run_id, step_id, _actor(), (request.form.get("note") or "")[:500])
        engine.continue_in_background(settings(), run_id)
    except AppError as refused:
        if refused.status == 403:
            raise
        flash(refused.message, "error")
    return redirect(url_for(".run_page", run_id=run_id))


@blueprint.post("/ops/runbooks/runs/<run_id>/resume")
@requires("admin")
def resume_run(run_id: str):
    try:
        engine.continue_in_background(settings(), run_id)
    except AppError as refused:
        flash(refused.message, "error")
    return redirect(url_for(".run_page", run_id=run_id))


def _step_rows(view: RunView, runbook) -> list[dict]:
    rows = []
    for step in runbook.steps:
        state = view.steps.get(step.id)
        needed = step.role or runbook.least_role
        rows.append({"step": step, "state": state.state if state else "pending", "view": state,
                     "may_confirm": bool(state and state.state == "waiting") and role_allows(g.user.role, needed),
                     "needed": needed})
    return rows


def _clock(view: RunView, runbook) -> dict:
    remaining = sum(s.expected_seconds for s in runbook.steps
                    if not (view.steps.get(s.id) and view.steps[s.id].finished))
    elapsed = view.elapsed_seconds()
    projected = elapsed + (remaining if view.status not in ("completed", "failed", "aborted") else 0)
    return {"elapsed": elapsed, "projected": projected, "budget": view.rto_budget_seconds,
            "over": projected > view.rto_budget_seconds}
