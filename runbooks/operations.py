"""The runbooks package's operation: put the runbook export on every target, after every backup
that stored something (so the runbook for a lost box can be read from the NAS or the bucket)."""
from __future__ import annotations

from appliance.operations import Context, Operation, Outcome, after_success, register
from monitors.recovery_facts import latest_drills

# `export` (YAML, the library's models) is imported when used: every `appliance` command registers
# these operations, and most never publish (about 60 ms of start-up).


def drill_summaries() -> dict[str, str]:
    """What each runbook's last drill achieved, for the exported pages."""
    out = {}
    for drill in latest_drills():
        rto = f"RTO {drill.rto_seconds:.0f} s" if drill.rto_seconds is not None else "RTO not measured"
        rpo = f"RPO {drill.rpo_seconds:.1f} s" if drill.rpo_seconds is not None else "RPO not measured"
        out[drill.runbook] = (f"{drill.at:%Y-%m-%d %H:%M} UTC, {'succeeded' if drill.succeeded else 'FAILED'}: "
                              f"{rto}, {rpo}")
    return out


def _publish(ctx: Context) -> dict[str, str]:
    from . import export
    return export.put_on_targets(ctx.settings, drill_summaries(), force=True)


def _after_backup(settings, report) -> None:
    from . import export
    failed = export.put_on_targets(settings, drill_summaries())
    if failed:
        raise RuntimeError("runbook export not put on " + "; ".join(f"{k}: {v}" for k, v in failed.items()))


PUBLISH = register(Operation(
    "runbooks.publish", "Put the runbooks on every target", "admin", _publish, background=True,
    record=lambda failed: Outcome("partial" if failed else "ok",
                                  "; ".join(f"{k}: {v}" for k, v in failed.items()) or "on every target"),
    help="Static pages of every runbook with this box's facts (no secret), beside the backups."))
after_success("backup.run", _after_backup)
