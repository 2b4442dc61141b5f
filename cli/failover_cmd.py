"""`appliance failover status|promote|demote|holds|run|follow`: the pair's leader lease and the
standby's copy of the primary's database (see docs/failover.md)."""
from __future__ import annotations

import json

import click

from appliance import config, operations
from appliance.commandline import CliContext, pass_app


def _settings(app: CliContext, *, database: bool = True) -> config.Settings:
    settings = app.settings() if database else config.load(app.home)
    if not settings.failover.enabled:
        raise click.ClickException("Failover is not enabled on this box: set [failover] enabled = true (docs/failover.md).")
    from failover.fence import require_permit
    require_permit(settings.home)  # fail closed until the lease holder has run
    return settings


@click.group("failover")
def command() -> None:
    """The pair: which box holds the leader lease and takes orders."""


@command.command("status")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@pass_app
def status(app: CliContext, as_json: bool) -> None:
    from failover import control
    report = control.status(_settings(app, database=False))
    if as_json:
        click.echo(json.dumps(report, indent=2))
        return
    lease = (f"{report['lease_holder']} (epoch {report['lease_epoch']}, {report['lease_seconds_left']} s left)"
             if report["lease_holder"] else "nobody")
    click.echo(f"box:       {report['box']} ({report['role']})")
    click.echo(f"epoch:     {report['epoch']} (this box's highest: {report['home_epoch']})")
    click.echo(f"lease:     {lease}")
    click.echo(f"fenced:    {'yes: ' + report['fenced_reason'] if report['fenced'] else 'no'}")
    click.echo(f"members:   {report['members_reachable']} of {len(report['members'])} reachable")
    if report.get("primary_replica"):
        r = report["primary_replica"]
        over = r["lag_seconds"] > report["max_lag_on_failover_seconds"] > 0
        click.echo(f"replica:   {r['holder']}'s (epoch {r['epoch']}) {r['lag_seconds']:.1f} s behind at its last renewal"
                   + (f": over max_lag_on_failover_seconds ({report['max_lag_on_failover_seconds']:g} s), "
                      "no automatic failover" if over else ""))
    if report["standby"]:
        s = report["standby"]
        lag = "unknown" if s["lag_seconds"] is None else f"{s['lag_seconds']:.1f} s"
        click.echo(f"standby:   {'following' if s['following'] else 'stopped'}, applied transaction "
                   f"{s['applied_txid']} of {s['newest_txid']}, lag {lag}" + (f"; {s['error']}" if s["error"] else ""))
    for url, state in report["members"].items():
        click.echo(f"  {url}: {state}")


def _execute(app: CliContext, name: str, params: dict) -> None:
    settings = _settings(app)
    click.echo(operations.execute(settings, name, params, actor=operations.cli_actor(), source="cli"))


@command.command("promote")
@click.option("--planned", is_flag=True, help="Ask the current primary to hand over (maintenance).")
@click.option("--accept-loss", is_flag=True,
              help="Take over even from a primary whose replica was behind; what it did not ship is lost here.")
@pass_app
def promote(app: CliContext, planned: bool, accept_loss: bool) -> None:
    _execute(app, "failover.promote", {"planned": planned, "accept_loss": accept_loss})


@command.command("demote")
@pass_app
def demote(app: CliContext) -> None:
    _execute(app, "failover.demote", {})


@command.command("holds")
@pass_app
def holds(app: CliContext) -> None:
    """Exit 0 only while this box holds the lease and may write (keepalived's track script).

    Reads the box's write permit only (no etcd request, no database); a fenced box exits 1 with the
    reason. keepalived runs the same check as `python -m failover.holds` (failover/holds.py), which
    skips this command line's start-up.
    """
    from failover.holds import verdict
    holds, said = verdict(app.home)
    if not holds:
        raise click.ClickException(said)
    click.echo(said)


@command.command("run")
@pass_app
def run(app: CliContext) -> None:
    """Hold (or wait for) the leader lease until stopped: one per box, beside `appliance serve`.

    Its systemd unit runs `python -m failover.service run`, the same process without this command
    line's start-up and memory (failover/service.py)."""
    from failover import service
    _run_service(service.run, config.load(app.home))


def _run_service(process, settings: config.Settings) -> None:
    from failover import service
    try:
        process(settings)
    except service.Refused as e:
        raise click.ClickException(str(e)) from None


@command.command("patroni-config")
@click.option("--output", required=True, type=click.Path(dir_okay=False), help="Where to write Patroni's YAML.")
@click.option("--owner", default="postgres", show_default=True,
              help="As root, hand the file (it holds the two PostgreSQL passwords) to this user, who runs Patroni.")
@pass_app
def patroni_config(app: CliContext, output: str, owner: str) -> None:
    """Write this box's Patroni configuration (engine = "patroni", a PostgreSQL pair) from appliance.toml."""
    from pathlib import Path

    from failover import patroni
    settings = _settings(app, database=False)
    if settings.failover.engine != "patroni":
        raise click.ClickException('Set [failover] engine = "patroni" first: this pair uses the appliance\'s own lease.')
    try:
        written = patroni.write_config(settings, Path(output), owner)
    except patroni.PatroniError as e:
        raise click.ClickException(str(e)) from None
    click.echo(f"wrote {written} (mode 600): run `patroni {written}` as {owner} (deploy/systemd/appliance-patroni.service)")


@command.command("rejoin")
@click.option("--json", "as_json", is_flag=True, help="Print the quarantine as JSON.")
@pass_app
def rejoin(app: CliContext, as_json: bool) -> None:
    """Make this old primary the standby of the box that holds the lease now.

    Lists (and keeps in quarantine/) the orders this box acknowledged that never reached the new
    primary, for re-entry; sets its database aside; then start `failover follow`.
    """
    from failover import control
    from failover.rejoin import rejoin as rejoin_box
    settings = _settings(app, database=False)
    pair = control.status(settings)
    done = rejoin_box(settings, pair["lease_holder"], pair["lease_epoch"])
    if as_json:
        click.echo(json.dumps(done, indent=2))
        return
    orders = done["orders"]
    click.echo(f"{done['box']} is now a standby of {done['rejoined']} (epoch {done['epoch']}); start "
               f"`appliance failover follow` (the appliance-follow unit).")
    if not orders:
        click.echo("Every order this box acknowledged is on the primary: nothing to re-enter.")
        return
    click.echo(f"{len(orders)} order(s) this box acknowledged never reached {done['rejoined']}: re-enter them "
               f"there (kept in {done['listing']} and .csv):")
    for order in orders:
        lines = ", ".join(f"{line['qty']} x {line['sku']}" for line in order["lines"])
        clash = " (that number now names another order on the primary)" if order["number_now_names_another_order"] else ""
        click.echo(f"  {order['number']}  {order['created_at']}  {order['status']}  {lines}{clash}")


@command.command("follow")
@pass_app
def follow(app: CliContext) -> None:
    """Keep this standby's copy of the primary's database current from the replica, until stopped.

    One per standby box (a systemd unit, `python -m failover.service follow`: the same process without
    this command line's start-up and memory); a promotion stops it and applies what it has received.
    """
    from failover import service
    _run_service(service.follow, config.load(app.home))
