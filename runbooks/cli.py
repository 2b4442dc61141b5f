"""`appliance runbook list|show|run|runs|resume|confirm|lint`."""
from __future__ import annotations

import json
from pathlib import Path

import click

from appliance import operations
from appliance.commandline import name_value_pairs, pass_app

from . import engine, export
from .journal import RunView
from .loader import lint, load_library


@click.group("runbook")
def command() -> None:
    """Recovery runbooks: read them, run them step by step, resume, confirm, lint."""


@command.command("list")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def list_command(as_json: bool) -> None:
    """Every runbook of the library: id, title, RTO budget, the alerts that lead to it."""
    library = load_library()
    if as_json:
        click.echo(json.dumps([{"id": r.id, "title": r.title, "rto_budget_seconds": r.rto_budget_seconds,
                                "alerts": r.when.alerts, "roles": r.roles, "steps": len(r.steps)}
                               for r in library.values()], indent=2))
        return
    for r in library.values():
        alerts = f"  (alerts: {', '.join(r.when.alerts)})" if r.when.alerts else ""
        click.echo(f"{r.id:<24} {r.title}  [RTO {r.rto_budget_seconds // 60} min]{alerts}")


@command.command("show")
@click.argument("runbook_id")
def show_command(runbook_id: str) -> None:
    """A runbook's symptoms, parameters and steps."""
    r = engine._runbook(runbook_id)
    click.echo(f"{r.id}: {r.title}")
    click.echo(f"RTO budget {r.rto_budget_seconds} s; run by: {', '.join(r.roles)}")
    click.echo("When: " + "; ".join(r.when.symptoms))
    for p in r.params:
        click.echo(f"  --param {p.name}=…  {p.help}{' (required)' if p.required else ''}"
                   f"{f' [default {p.default}]' if p.default else ''}")
    for n, s in enumerate(r.steps, 1):
        what = s.operation or s.command or s.instruction or ""
        click.echo(f"{n:>2}. [{s.phase}/{s.kind}] {s.id}: {s.title}  (~{s.expected_seconds:g} s, "
                   f"timeout {s.timeout_seconds:g} s, on failure {s.on_failure})")
        click.echo(f"      {what}")


# A run started from the web goes on in a child `appliance runbook run|resume … --as USER:ROLE`:
# whoever can run `appliance` on the box is trusted with its keys anyway.
_as_option = click.option("--as", "as_user", default=None, hidden=True, metavar="USER:ROLE")
_run_id_option = click.option("--run-id", default=None, hidden=True)


@command.command("run")
@click.argument("runbook_id")
@click.option("--param", "params", multiple=True, metavar="K=V", help="A runbook parameter (repeatable).")
@click.option("--dry-run", is_flag=True, help="Run checks and verifies; only say what actions would do.")
@click.option("--yes", is_flag=True, help="Confirm manual steps as you (recorded as such).")
@_run_id_option
@_as_option
@pass_app
def run_command(app, runbook_id: str, params: tuple[str, ...], dry_run: bool, yes: bool, run_id: str | None,
                as_user: str | None) -> None:
    """Run a runbook (prints the run id first); stops at a step that waits for a person."""
    settings = app.settings()
    values = name_value_pairs(params, "--param values")
    if run_id and not values:
        values = engine.queued_params(settings, run_id)
    view = engine.start(settings, runbook_id, values, _actor(as_user), dry_run=dry_run, assume_yes=yes,
                        say=click.echo, run_id=run_id)
    _exit_for(view)


@command.command("resume")
@click.argument("run_id")
@click.option("--yes", is_flag=True, help="Confirm manual steps, and repeat a step not safe to repeat.")
@_as_option
@pass_app
def resume_command(app, run_id: str, yes: bool, as_user: str | None) -> None:
    """Continue an interrupted or waiting run at its first unfinished step."""
    _exit_for(engine.resume(app.settings(), run_id, _actor(as_user), assume_yes=yes, say=click.echo))


def _actor(as_user: str | None) -> operations.Actor:
    if not as_user:
        return operations.cli_actor()
    name, _, role = as_user.rpartition(":")
    return operations.Actor(name, role)


@command.command("confirm")
@click.argument("run_id")
@click.argument("step_id")
@click.option("--note", default="", help="What was done.")
@pass_app
def confirm_command(app, run_id: str, step_id: str, note: str) -> None:
    """Confirm a manual step (or approve an approve step); the run then goes on."""
    _exit_for(engine.confirm(app.settings(), run_id, step_id, operations.cli_actor(), note, say=click.echo))


@command.command("runs")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@click.option("--limit", default=20, show_default=True)
@pass_app
def runs_command(app, as_json: bool, limit: int) -> None:
    """Runbook runs, newest first: status, elapsed time against the RTO budget."""
    views = engine.runs(app.settings())[:limit]
    if as_json:
        click.echo(json.dumps([_as_dict(v) for v in views], indent=2))
        return
    for v in views:
        click.echo(f"{v.id}  {v.runbook:<22} {v.status:<11} {v.elapsed_seconds():7.1f} s "
                   f"/ {v.rto_budget_seconds} s  {v.actor}{'  (dry run)' if v.dry_run else ''}"
                   f"{'  ' + v.reason if v.reason else ''}")


@command.command("export")
@click.option("--output", required=True, type=click.Path(file_okay=False, path_type=Path),
              help="Folder to write the pages into.")
@click.option("--format", "fmt", type=click.Choice(["html", "md"]), default="html", show_default=True)
@pass_app
def export_command(app, output: Path, fmt: str) -> None:
    """Every runbook as a static page with this box's facts and no secret: readable with the box dead."""
    from .operations import drill_summaries
    files = export.export(app.settings(), output, fmt, drill_summaries())
    click.echo(f"{len(files) - 1} runbooks written to {output} (open {files[0].name})")


@command.command("lint")
@pass_app
def lint_command(app) -> None:
    """Check every runbook against this box's configuration and operations."""
    problems = lint(app.settings())
    for line in problems:
        click.echo(line)
    if problems:
        raise click.ClickException(f"{len(problems)} problem(s) in the runbook library.")
    click.echo(f"{len(load_library())} runbooks ok")


def _exit_for(view: RunView) -> None:
    if view.status == "waiting":
        click.echo(f"run {view.id} is waiting: {view.reason}")
    elif view.status != "completed":
        raise click.ClickException(f"Run {view.id} {view.status}: {view.reason or ''}".rstrip(": "))


def _as_dict(v: RunView) -> dict:
    return {"id": v.id, "runbook": v.runbook, "status": v.status, "actor": v.actor, "dry_run": v.dry_run,
            "started": v.started, "ended": v.ended, "elapsed_seconds": round(v.elapsed_seconds(), 3),
            "rto_budget_seconds": v.rto_budget_seconds, "reason": v.reason, "params": v.params,
            "steps": [{"id": s.id, "state": s.state, "attempt": s.attempt, "actor": s.actor,
                       "started": s.started, "ended": s.ended, "error": s.error} for s in v.steps.values()]}
