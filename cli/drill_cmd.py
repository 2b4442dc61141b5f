"""`appliance drill run|sandbox-serve`: restore drills against a sandbox, with RTO and RPO measured.

Here in the composition root because the sandbox is served by the web app (web is above runbooks)."""
from __future__ import annotations

import json
from dataclasses import asdict

import click

from appliance import operations
from appliance.commandline import name_value_pairs, pass_app


@click.group("drill")
def command() -> None:
    """Prove recovery works: run a recovery runbook into a sandbox and measure RTO and RPO."""


@command.command("run")
@click.argument("runbook_id")
@click.option("--target", default=None, help="Restore from this target (default: the runbook's choice).")
@click.option("--param", "params", multiple=True, metavar="K=V", help="A runbook parameter (repeatable).")
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
@pass_app
def run_command(app, runbook_id: str, target: str | None, params: tuple[str, ...], as_json: bool) -> None:
    """Run RUNBOOK_ID against a sandbox (scratch database, loopback port); the live box is not touched.
    Manual and approve steps are confirmed by you, and journaled so."""
    from runbooks.drill import run_drill
    settings = app.settings()
    result = run_drill(settings, runbook_id, operations.cli_actor(), target=target,
                       params=name_value_pairs(params, "--param values"), say=(lambda line: None) if as_json else click.echo)
    if as_json:
        click.echo(json.dumps(asdict(result) | {"met": result.met}, indent=2))
    else:
        rto = f"{result.rto_seconds:.1f} s" if result.rto_seconds is not None else "not reached"
        rpo = f"{result.rpo_seconds:.1f} s" if result.rpo_seconds is not None else "unknown"
        click.echo(f"drill {result.drill_id}: RTO {rto} (budget {result.rto_budget_seconds} s), "
                   f"RPO {rpo} (target {result.rpo_target_seconds} s): {'MET' if result.met else 'NOT MET'}")
    if not result.succeeded:
        raise click.ClickException(f"Drill {result.drill_id} failed: {result.reason}")


@command.command("sandbox-serve", hidden=True)
@click.option("--database", required=True, type=click.Path(exists=True, dir_okay=False))
@click.option("--port", required=True, type=int)
@pass_app
def sandbox_serve_command(app, database: str, port: int) -> None:
    """Serves a drill's sandbox database on loopback with the web app alone (no scheduler, no order
    writer, no replication: nothing may back up or replicate the sandbox to the shop's targets)."""
    from pathlib import Path

    from werkzeug.serving import make_server

    from appliance import config
    from runbooks.drill import sandbox_settings
    from web import create_app
    from .wiring import register_panels
    register_panels()
    settings = sandbox_settings(config.load(app.home), Path(database), port)
    make_server("127.0.0.1", port, create_app(settings), threaded=True).serve_forever()
