"""`appliance drill run|sandbox-serve`: restore drills against a sandbox, with RTO and RPO measured.

Here in the composition root because the sandbox is served by the web app (web is above runbooks)."""
from __future__ import annotations

import json
from dataclasses import asdict
from pathlib import Path

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
@click.option("--run-id", default=None, hidden=True)
@click.option("--as", "as_user", default=None, hidden=True, metavar="USER:ROLE")
@pass_app
def run_command(app, runbook_id: str, target: str | None, params: tuple[str, ...], as_json: bool,
                run_id: str | None, as_user: str | None) -> None:
    """Run RUNBOOK_ID against a sandbox (scratch database, loopback port); the live box is not touched.
    Manual and approve steps are confirmed by you, and journaled so."""
    from runbooks.drill import run_drill
    settings = app.settings()
    operations.lower_priority()  # a drill is background work beside a live shop: it yields to orders
    actor = operations.cli_actor()
    if as_user:  # a drill started from the web, as the signed-in admin
        name, _, role = as_user.rpartition(":")
        actor = operations.Actor(name, role)
    result = run_drill(settings, runbook_id, actor, target=target, drill_id=run_id,
                       params=name_value_pairs(params, "--param values"), say=(lambda line: None) if as_json else click.echo)
    if as_json:
        click.echo(json.dumps(asdict(result) | {"met": result.met}, indent=2))
    else:
        rto = f"{result.rto_seconds:.1f} s" if result.rto_seconds is not None else "not reached"
        rpo = f"{result.rpo_seconds:.1f} s" if result.rpo_seconds is not None else "unknown"
        click.echo(f"drill {result.drill_id}: RTO {rto} (budget {result.rto_budget_seconds} s), "
                   f"RPO {rpo} (target {result.rpo_target_seconds} s): {'MET' if result.met else 'NOT MET'}")
    if result.gave_way:
        raise click.ClickException(f"Drill {result.drill_id} stopped: {result.reason}")
    if not result.succeeded:
        raise click.ClickException(f"Drill {result.drill_id} failed: {result.reason}")


@command.command("report")
@click.option("--output", default=None, type=click.Path(dir_okay=False, path_type=Path),
              help="Write the HTML report here (default: reports/restore-drills.html in the home).")
@pass_app
def report_command(app, output: Path | None) -> None:
    """Per runbook and target: targets vs achieved, the trend, the slowest phases, the misses."""
    from appliance.models import utcnow
    from runbooks import report
    settings = app.settings()
    path = output or settings.path("reports/restore-drills.html")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(report.render_html(settings, utcnow()))
    for line in report.lines(settings):
        latest = line.latest
        click.echo(f"{line.runbook:<20} {line.target:<12} {len(line.drills)} drill(s), {line.met} met; latest "
                   f"RTO {report.seconds_text(latest.get('rto_seconds'))}, RPO {report.seconds_text(latest.get('rpo_seconds'))}")
    click.echo(f"report written to {path}")


@command.command("sandbox-serve", hidden=True)
@click.option("--database", required=True, type=click.Path(exists=True, dir_okay=False))
@click.option("--port", required=True, type=int)
@pass_app
def sandbox_serve_command(app, database: str, port: int) -> None:
    """Serves a drill's sandbox database on loopback with the web app alone (no scheduler, no order
    writer, no replication: nothing may back up or replicate the sandbox to the shop's targets)."""
    from werkzeug.serving import make_server

    from appliance import config
    from runbooks.drill import sandbox_settings
    from web import create_app
    from .wiring import register_panels
    register_panels()
    settings = sandbox_settings(config.load(app.home), Path(database), port)
    make_server("127.0.0.1", port, create_app(settings), threaded=True).serve_forever()
