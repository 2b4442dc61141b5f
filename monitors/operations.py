"""The monitors' operations (see appliance/operations.py): acknowledging, silencing, maintenance
windows, running the checks and delivering alerts by hand. The CLI and the /ops health panel call
these; each is quick, so the web runs them in the request (`background=False`)."""
from __future__ import annotations

from datetime import datetime, timedelta

from appliance.errors import Invalid
from appliance.models import utcnow
from appliance.operations import Context, Operation, Outcome, Param, register

from . import engine, notify
from .checks import catalog, config_for

LONGEST_MINUTES = 7 * 24 * 60


def known_check(name: str, *, allow_all: bool = False) -> str:
    if allow_all and name == "*":
        return name
    if name not in catalog():
        raise Invalid(f"No check named {name!r}: see `appliance monitors status`.", [{"param": "check"}])
    return name


def _ack(ctx: Context, check: str, note: str, by: str | None):
    return engine.acknowledge(known_check(check), by or ctx.actor.name, note or "")


def _silence(ctx: Context, check: str, minutes: int, reason: str, by: str | None):
    now = utcnow()
    return engine.silence(known_check(check, allow_all=True), now + timedelta(minutes=_minutes(minutes)),
                          by or ctx.actor.name, reason or "", now=now)


def _maintenance(ctx: Context, start: str | None, minutes: int, checks: str, reason: str, by: str | None):
    starts = _utc_time(start) if start else utcnow()
    for name in checks.split(","):
        known_check(name.strip(), allow_all=True)
    return engine.plan_maintenance(starts, starts + timedelta(minutes=_minutes(minutes)), by or ctx.actor.name,
                                   reason or "", checks)


def _run_checks(ctx: Context, checks: str | None, deliver: bool):
    names = [known_check(n.strip()) for n in checks.split(",")] if checks else None
    states = ([engine.run_check(name, ctx.settings) for name in names] if names
              else engine.run_all(ctx.settings))
    if deliver:
        notify.deliver_due(ctx.settings)
    return states


def _probe(ctx: Context, check: str) -> dict:
    """One check evaluated now, without recording it: what a runbook's check step asks."""
    known_check(check)
    definition = catalog()[check]
    result = engine.evaluate(definition, config_for(definition, ctx.settings), ctx.settings, utcnow())
    return {"state": result.state, "value": result.value, "reason": result.reason}


def _deliver(ctx: Context) -> dict:
    return notify.deliver_due(ctx.settings)


def _minutes(value: int) -> int:
    if not 1 <= value <= LONGEST_MINUTES:
        raise Invalid(f"Minutes must be between 1 and {LONGEST_MINUTES} (got {value}).", [{"param": "minutes"}])
    return value


def _utc_time(text: str) -> datetime:
    try:
        value = datetime.fromisoformat(text)
    except ValueError:
        raise Invalid(f"Time {text!r} is not ISO format like 2026-03-01T22:00.", [{"param": "start"}]) from None
    return value.replace(tzinfo=None) if value.tzinfo is None else value.astimezone(tz=None).replace(tzinfo=None)


_BY = Param("by", help="Who does it (default: whoever runs the operation).")

ACK = register(Operation(
    "monitors.ack", "Acknowledge a check's problem", "admin", _ack, background=False,
    params=(Param("check", required=True, help="The check."), Param("note", help="What is being done."), _BY),
    record=lambda ack: Outcome("ok", f"{ack.check} ({ack.state}) acknowledged by {ack.by}"),
    help="Reminders stop until the check's state changes."))
SILENCE = register(Operation(
    "monitors.silence", "Silence notifications", "admin", _silence, background=False,
    params=(Param("check", required=True, help="The check, or * for every check."),
            Param("minutes", int, required=True, help="For how long."), Param("reason"), _BY),
    record=lambda row: Outcome("ok", f"{row.check} silenced until {row.ends_at:%Y-%m-%d %H:%M} UTC"),
    help="Notifications are held back; states are still recorded."))
MAINTENANCE = register(Operation(
    "monitors.maintenance", "Plan a maintenance window", "admin", _maintenance, background=False,
    params=(Param("start", help="UTC start, ISO format (default: now)."),
            Param("minutes", int, required=True, help="How long."),
            Param("checks", default="*", help="Comma-separated checks the window covers (default: all)."),
            Param("reason"), _BY),
    record=lambda w: Outcome("ok", f"maintenance #{w.id} {w.starts_at:%Y-%m-%d %H:%M}-{w.ends_at:%H:%M} UTC ({w.checks})"),
    help="No notifications, and uptime counts the time as planned."))
RUN_CHECKS = register(Operation(
    "monitors.run-checks", "Run the checks now", "admin", _run_checks, background=False,
    params=(Param("checks", help="Comma-separated checks (default: every enabled check)."),
            Param("deliver", bool, default=True, help="Send the alerts the run produced.")),
    record=lambda states: Outcome("ok", ", ".join(f"{s.check}={s.state}" for s in states)[:500]),
    help="Runs the checks outside the scheduler."))
DELIVER = register(Operation(
    "monitors.deliver", "Deliver due alerts", "admin", _deliver, background=False,
    record=lambda counts: Outcome("partial" if counts["failed"] else "ok",
                                  f"{counts['delivered']} delivered, {counts['failed']} failed (kept for retry)"),
    help="Sends the alerts that are due (normally the scheduler does this)."))
PROBE = register(Operation(
    "monitors.probe", "Evaluate one check now", "staff", _probe, read_only=True, background=False,
    params=(Param("check", required=True, help="The check."),),
    record=lambda r: Outcome("ok", f"{r['state']}: {r['reason']}"),
    help="Runs one check's probe without recording its result (runbook check and verify steps use it)."))
