"""`appliance monitors …`: status, run-once, deliver, ack, silence, maintenance, report."""
from __future__ import annotations

import math
import re
from datetime import date, timedelta

import click

from appliance import operations
from appliance.commandline import pass_app
from appliance.models import utcnow

from . import status as status_module, uptime


@click.group("monitors")
def command() -> None:
    """Health checks, alerts and the uptime ledger."""


@command.command("status")
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")
@pass_app
def status_cmd(app, as_json: bool) -> None:
    """Every check with its state, latest value and since when."""
    rows = status_module.rows(app.settings())
    if as_json:
        import json
        click.echo(json.dumps(rows, indent=2, default=str))
        return
    for line in status_module.table(rows):
        click.echo(line)


@command.command("run-once")
@click.option("--check", "names", multiple=True, help="Run only these checks (default: every enabled check).")
@click.option("--deliver/--no-deliver", default=True, help="Send the alerts the run produced.")
@pass_app
def run_once(app, names: tuple[str, ...], deliver: bool) -> None:
    """Runs the checks now (outside the scheduler) and prints the resulting status."""
    settings = app.settings()
    _execute(settings, "monitors.run-checks", {"checks": ",".join(names) or None, "deliver": deliver})
    for line in status_module.table(status_module.rows(settings)):
        click.echo(line)


@command.command("deliver")
@pass_app
def deliver(app) -> None:
    """Sends the alerts that are due (normally the scheduler does this)."""
    counts = _execute(app.settings(), "monitors.deliver", {})
    click.echo(f"{counts['delivered']} delivered, {counts['failed']} failed (kept for retry)")


@command.command("ack")
@click.argument("check")
@click.option("--by", required=True, help="Who takes the problem on.")
@click.option("--note", default="", help="What is being done.")
@pass_app
def ack(app, check: str, by: str, note: str) -> None:
    """Acknowledges a check's current problem: reminders stop until its state changes."""
    _execute(app.settings(), "monitors.ack", {"check": check, "by": by, "note": note})
    click.echo(f"{check} acknowledged by {by}")


@command.command("silence")
@click.argument("check")
@click.option("--for", "duration", required=True, help="How long, e.g. 30m, 2h, 1d.")
@click.option("--by", required=True)
@click.option("--reason", default="")
@pass_app
def silence_cmd(app, check: str, duration: str, by: str, reason: str) -> None:
    """Holds back notifications for CHECK (or '*' for all) for a time; states are still recorded."""
    row = _execute(app.settings(), "monitors.silence",
                   {"check": check, "minutes": _minutes(duration), "by": by, "reason": reason})
    click.echo(f"{check} silenced until {row.ends_at:%Y-%m-%d %H:%M} UTC")


@command.command("maintenance")
@click.option("--start", "start", required=True, help="UTC start, ISO format (e.g. 2026-03-01T22:00), or 'now'.")
@click.option("--for", "duration", required=True, help="How long, e.g. 90m, 2h.")
@click.option("--checks", default="*", help="Comma-separated checks the window covers (default: all).")
@click.option("--by", required=True)
@click.option("--reason", default="")
@pass_app
def maintenance(app, start: str, duration: str, checks: str, by: str, reason: str) -> None:
    """Plans a maintenance window: no notifications, and uptime counts the time as planned."""
    window = _execute(app.settings(), "monitors.maintenance", {
        "start": None if start == "now" else start, "minutes": _minutes(duration), "checks": checks,
        "by": by, "reason": reason})
    click.echo(f"maintenance #{window.id} {window.starts_at:%Y-%m-%d %H:%M}–{window.ends_at:%H:%M} UTC ({checks})")


def _execute(settings, name: str, params: dict):
    return operations.execute(settings, name, params, actor=operations.cli_actor(), source="cli")


def _minutes(duration: str) -> int:
    return max(1, math.ceil(parse_duration(duration).total_seconds() / 60))


@command.command("report")
@click.option("--month", default=None, help="YYYY-MM (default: the previous month).")
@pass_app
def report(app, month: str | None) -> None:
    """Writes the monthly uptime report (HTML with a chart) under <home>/reports/ and prints a summary."""
    settings = app.settings()
    year, mon = _parse_month(month) if month else _previous_month(utcnow().date())
    data = uptime.month_report(settings, year, mon)
    path = uptime.write_month_report(settings, data)
    for service in data.services:
        total = service.total
        click.echo(f"{service.name:<12} availability {uptime.percent(total.availability)}  "
                   f"down {uptime.duration_text(total.down_seconds)}  planned {uptime.duration_text(total.planned_seconds)}  "
                   f"incidents {len(service.incidents)}")
    click.echo(f"report written to {path}")


def parse_duration(text: str) -> timedelta:
    match = re.fullmatch(r"(\d+)\s*([smhd])", text.strip())
    if not match:
        raise click.ClickException(f"Duration {text!r} is not like 30m, 2h or 1d.")
    amount, unit = int(match[1]), match[2]
    return timedelta(seconds=amount * {"s": 1, "m": 60, "h": 3600, "d": 86400}[unit])


def _parse_month(text: str) -> tuple[int, int]:
    match = re.fullmatch(r"(\d{4})-(\d{2})", text)
    if not match or not 1 <= int(match[2]) <= 12:
        raise click.ClickException(f"Month {text!r} is not like 2026-03.")
    return int(match[1]), int(match[2])


def _previous_month(today: date) -> tuple[int, int]:
    first = today.replace(day=1) - timedelta(days=1)
    return first.year, first.month
