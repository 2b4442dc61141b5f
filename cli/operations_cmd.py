"""`appliance operations list|run|runs|run-queued`: every registered operation, and the ledger."""
from __future__ import annotations

import json

import click

from appliance import operations
from appliance.commandline import CliContext, name_value_pairs, pass_app


@click.group("operations")
def command() -> None:
    """What can be run on this box (backup, verify, restore, acknowledge, …) and what was run."""


@command.command("list")
def list_command() -> None:
    """Every registered operation: name, role, exclusivity, parameters."""
    for op in operations.registered():
        lock = f", exclusive ({op.exclusive})" if op.exclusive else ""
        click.echo(f"{op.name:<22} {op.role:<7} {op.title}{lock}")
        for p in op.params:
            required = "required" if p.required else f"default {p.default!r}"
            click.echo(f"    {p.name}={p.kind.__name__} ({required}){' secret' if p.secret else ''}: {p.help}")


@command.command("run")
@click.argument("name")
@click.argument("params", nargs=-1, metavar="[NAME=VALUE]...")
@click.option("--quiet", is_flag=True, help="No progress lines.")
@pass_app
def run_command(app: CliContext, name: str, params: tuple[str, ...], quiet: bool) -> None:
    """Run operation NAME now, with its parameters as NAME=VALUE."""
    result = operations.execute(app.settings(), name, name_value_pairs(params, "Parameters"), actor=operations.cli_actor(),
                                source="cli", show_progress=not quiet)
    run = operations.recent_runs(1, name)
    click.echo(f"{name}: {run[0].outcome}: {run[0].summary}" if run else f"{name}: done ({result!r})")


@command.command("runs")
@click.option("--limit", default=20, show_default=True, help="How many runs, newest first.")
@click.option("--operation", default=None, help="Only runs of this operation.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON lines.")
@pass_app
def runs_command(app: CliContext, limit: int, operation: str | None, as_json: bool) -> None:
    """The operation ledger: who ran what, when, how it ended."""
    settings = app.settings()
    operations.reap_interrupted(settings)
    for run in operations.recent_runs(limit, operation):
        if as_json:
            click.echo(json.dumps({"id": run.id, "operation": run.operation, "actor": run.actor, "source": run.source,
                                   "params": operations.params_of(run), "started_at": f"{run.started_at:%Y-%m-%dT%H:%M:%SZ}",
                                   "duration_seconds": run.duration_seconds, "outcome": run.outcome,
                                   "summary": run.summary}))
            continue
        took = f"{run.duration_seconds:.1f} s" if run.duration_seconds is not None else "-"
        click.echo(f"#{run.id:<5} {run.started_at:%Y-%m-%d %H:%M:%S}  {run.operation:<20} {run.outcome:<11} "
                   f"{took:>8}  {run.actor} ({run.source})  {run.summary or ''}")


@command.command("run-queued", hidden=True)
@click.argument("run_id", type=int)
@pass_app
def run_queued_command(app: CliContext, run_id: int) -> None:
    """Runs a queued run (started from the web or the scheduler, in this child process)."""
    operations.execute_queued(app.settings(), run_id)
