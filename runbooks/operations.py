"""The runbooks package's operations: put the runbook export on every target (after every backup
that stored something, so the runbook for a lost box can be read from the NAS or the bucket), and
drill a recovery runbook from each target in turn (what the schedule starts)."""
from __future__ import annotations

from appliance.operations import Context, Operation, Outcome, Param, after_success, register
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


def _drill(ctx: Context, runbook: str | None, targets: str | None) -> list:
    """One drill per target, in turn (the sandbox is one database at a time)."""
    from .drill import run_drill
    chosen = [t.strip() for t in (targets or "").split(",") if t.strip()] or \
        ctx.settings.runbooks.drill_targets or [t.name for t in ctx.settings.backup.targets]
    results = []
    for target in chosen:
        results.append(run_drill(ctx.settings, runbook or ctx.settings.runbooks.drill_runbook, ctx.actor, target=target))
        if results[-1].gave_way:
            break  # the shop's restore needs the box: the other targets' drills wait for the next time
    return results


def _drilled(results: list) -> Outcome:
    if any(r.gave_way for r in results):
        return Outcome("interrupted", "; ".join(f"{r.target}: {r.reason}" for r in results if r.gave_way))
    missed = [r for r in results if not r.met]
    text = "; ".join(f"{r.target}: {'met' if r.met else 'NOT met'} (RTO {r.rto_seconds}, RPO {r.rpo_seconds}"
                     f"{', ' + r.reason if r.reason else ''})" for r in results)
    return Outcome("ok" if not missed else ("partial" if len(missed) < len(results) else "failed"),
                   text or "no target to drill from")


DRILL = register(Operation(
    "runbooks.drill", "Drill a recovery runbook", "admin", _drill, exclusive="drill", record=_drilled,
    params=(Param("runbook", help="The runbook (default: runbooks.drill_runbook)."),
            Param("targets", help="Comma-separated targets (default: runbooks.drill_targets, or every target).")),
    help="Restores from each target into a sandbox and measures RTO and RPO; the live box is not touched."))
