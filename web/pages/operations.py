"""The Operations panel on /ops and its routes: every registered operation the web may start, the
recent runs of the ledger, and a page that follows one run while it works.

Long operations (a backup, a verify) start in a child process (`operations.start_in_background`)
and the browser is sent to the run's page, which refreshes itself until the run ends; instant ones
(an acknowledgement) run in the request. Either way the registry checks the role, the parameters
and the exclusive lock, and the ledger records the run.
"""
from __future__ import annotations

from flask import Blueprint, abort, flash, g, redirect, render_template, request, url_for

from appliance import operations
from appliance.errors import AppError
from appliance.models import OperationRun
from appliance.panels import Panel, register_panel

from . import settings
from .security import requires

blueprint = Blueprint("operations", __name__)

RECENT_RUNS = 10


def _panel(current) -> Panel:
    operations.reap_interrupted(current)
    runs = operations.recent_runs(RECENT_RUNS)
    offered = [op for op in operations.registered() if op.background]
    failed = [r for r in runs[:3] if r.outcome in ("failed", "interrupted")]
    status = "warn" if failed else "ok"
    summary = (f"{len(offered)} operations can be started here; the last runs are below." if not failed else
               f"Recent run #{failed[0].id} ({failed[0].operation}) {failed[0].outcome}: {failed[0].summary or ''}")
    return Panel(status=status, summary=summary, body="ops/operations.html", wide=True,
                 data={"offered": offered, "runs": runs, "every": operations.registered()})


register_panel("operations", "Operations", _panel)


@blueprint.post("/ops/operations/<name>")
@requires("admin")
def start_operation(name: str):
    operation = operations.get(name)
    params = {p.name: request.form.get(p.name) for p in operation.params if p.name in request.form}
    for p in operation.params:  # an unticked checkbox sends nothing: it means false
        if p.kind is bool and p.name not in request.form and f"{p.name}__present" in request.form:
            params[p.name] = "false"
    actor = operations.Actor(g.user.username, g.user.role)
    try:
        if operation.background:
            run = operations.start_in_background(settings(), name, params, actor=actor, source="web")
            return redirect(url_for(".run_page", run_id=run.id))
        operations.execute(settings(), name, params, actor=actor, source="web", show_progress=False)
    except AppError as refused:
        flash(refused.message, "error")
        return redirect(url_for("ops.ops_page") + "#operations")
    run = operations.recent_runs(1, name)[0]
    flash(f"{operation.title}: {run.summary or run.outcome}", "success")
    return redirect(url_for("ops.ops_page") + "#operations")


@blueprint.get("/ops/runs/<int:run_id>")
@requires("admin")
def run_page(run_id: int):
    current = settings()
    operations.reap_interrupted(current)
    run = OperationRun.get_or_none(OperationRun.id == run_id)
    if run is None:
        abort(404)
    return render_template("ops/run.html", run=run, params=operations.params_of(run),
                           output=operations.log_tail(current, run.id),
                           working=run.outcome in ("queued", "running"))
