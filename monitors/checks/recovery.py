"""Recovery checks: backup age per target, recovery point vs the RPO, 3-2-1, verify results,
replication lag, days since the last successful restore drill, and whether the recovery kit of the
current backup key and targets was exported (backup/kit.py). They read `recovery_facts`;
when nothing is recorded they say "unknown", never "ok"."""
from __future__ import annotations

from backup import kit

from ..models import DrillResult
from ..recovery_facts import backup_facts, latest_drills
from . import Check, CheckContext, Result, crit, ok, unknown

NO_BACKUP_FACTS = "the backup package reports nothing yet"


def _age_seconds(ctx: CheckContext, at) -> float:
    return (ctx.now - at).total_seconds()


def backup_age(ctx: CheckContext) -> Result:
    facts = backup_facts(ctx.settings)
    if facts is None:
        return unknown(NO_BACKUP_FACTS)
    targets = facts.get("targets") or []
    if not targets:
        return Result("warn", None, "no backup target is configured")
    never = [t["name"] for t in targets if not t.get("last_success_at")]
    if never:
        return crit(None, f"no successful backup yet on {', '.join(never)}")
    oldest = max(targets, key=lambda t: _age_seconds(ctx, t["last_success_at"]))
    age = _age_seconds(ctx, oldest["last_success_at"])
    return Result(ctx.grade(age), round(age), f"newest backup on {oldest['name']} is {age / 3600:.1f} h old")


def recovery_point(ctx: CheckContext) -> Result:
    """How much would be lost if the disk died now: the fresher of replication and the newest backup."""
    facts = backup_facts(ctx.settings)
    if facts is None:
        return unknown(NO_BACKUP_FACTS)
    candidates = []
    replication = facts.get("replication") or {}
    if replication.get("running") and replication.get("lag_seconds") is not None:
        candidates.append((float(replication["lag_seconds"]), "replication lag"))
    for t in facts.get("targets") or []:
        if t.get("last_success_at"):
            candidates.append((_age_seconds(ctx, t["last_success_at"]), f"backup on {t['name']}"))
    if not candidates:
        return crit(None, "neither replication nor any backup: everything since install would be lost")
    exposure, source = min(candidates)
    rpo = ctx.settings.recovery.rpo_seconds
    warn, critical = ctx.config.warn or rpo, ctx.config.crit or 2 * rpo
    state = "crit" if exposure >= critical else "warn" if exposure >= warn else "ok"
    return Result(state, round(exposure, 1), f"{exposure:.0f} s of orders at risk ({source}); RPO is {rpo} s")


def backup_321(ctx: CheckContext) -> Result:
    facts = backup_facts(ctx.settings)
    rule = (facts or {}).get("rule_321")
    if rule is None:
        return unknown(NO_BACKUP_FACTS if facts is None else "3-2-1 status not reported")
    if rule.get("ok"):
        return ok(1, rule.get("reason") or "3 copies, 2 media, 1 offsite")
    return Result("warn", 0, rule.get("reason") or "the 3-2-1 rule does not hold")


def backup_verify(ctx: CheckContext) -> Result:
    facts = backup_facts(ctx.settings)
    if facts is None:
        return unknown(NO_BACKUP_FACTS)
    targets = facts.get("targets") or []
    failed = [t["name"] for t in targets if t.get("last_verify_ok") is False]
    if failed:
        return crit(None, f"last verify failed on {', '.join(failed)}")
    never = [t["name"] for t in targets if not t.get("last_verified_at")]
    if not targets or never:
        return unknown(f"never verified: {', '.join(never)}" if never else "no backup target is configured")
    oldest = max(targets, key=lambda t: _age_seconds(ctx, t["last_verified_at"]))
    hours = _age_seconds(ctx, oldest["last_verified_at"]) / 3600
    return Result(ctx.grade(hours), round(hours, 1), f"last verify of {oldest['name']} passed {hours:.0f} h ago")


def replication_lag(ctx: CheckContext) -> Result:
    facts = backup_facts(ctx.settings)
    replication = (facts or {}).get("replication")
    if replication is None:
        return unknown(NO_BACKUP_FACTS if facts is None else "no continuous replication reported")
    if not replication.get("running"):
        return crit(None, f"continuous replication is not running: {replication.get('reason', '')}".rstrip(": "))
    lag = replication.get("lag_seconds")
    if lag is None:
        return unknown("replication runs but reports no lag")
    rpo = ctx.settings.recovery.rpo_seconds
    warn, critical = ctx.config.warn or rpo / 2, ctx.config.crit or rpo
    state = "crit" if lag >= critical else "warn" if lag >= warn else "ok"
    return Result(state, round(float(lag), 2), f"replication {lag:.1f} s behind (RPO {rpo} s)")


def drill_age(ctx: CheckContext) -> Result:
    last = (DrillResult.select().where(DrillResult.succeeded == True)  # noqa: E712 (peewee expression)
            .order_by(DrillResult.at.desc()).first())
    if last is None:
        return unknown("no successful restore drill recorded")
    days = _age_seconds(ctx, last.at) / 86400
    state = ctx.grade(days)
    reason = f"last successful drill ({last.runbook}) {days:.0f} days ago"
    rto = ctx.settings.recovery.rto_seconds
    slow = [d for d in latest_drills() if d.rto_seconds and d.rto_seconds > rto]
    if slow and state == "ok":
        state, reason = "warn", f"{reason}; drill {slow[0].runbook} took {slow[0].rto_seconds:.0f} s, over the RTO of {rto} s"
    return Result(state, round(days, 1), reason)


def recovery_kit(ctx: CheckContext) -> Result:
    """Warns while the kit (backup key, targets, commands) of the current key and targets was never exported."""
    current = kit.status(ctx.settings)
    return Result("ok" if current.current else "warn", 1 if current.current else 0, current.reason)


CHECKS = [
    Check("backup_age", "recovery", backup_age, "seconds since the newest backup, worst target", 300,
          "backup-failing", warn=2 * 3600, crit=26 * 3600),
    Check("recovery_point", "recovery", recovery_point, "seconds of orders at risk vs recovery.rpo_seconds", 60,
          "backup-failing"),
    Check("backup_321", "recovery", backup_321, "3-2-1 rule holds (1) or not (0)", 900, "backup-321", confirm_count=1),
    Check("backup_verify", "recovery", backup_verify, "hours since the last passing verify, worst target", 900,
          "backup-verify-failed", warn=48, crit=192, confirm_count=1),
    Check("replication_lag", "recovery", replication_lag, "seconds the replica is behind", 30, "replication-broken"),
    Check("drill_age", "recovery", drill_age, "days since the last successful restore drill", 3600, "restore-drill",
          warn=35, crit=95, confirm_count=1),
    Check("recovery_kit", "recovery", recovery_kit, "recovery kit of the current key and targets exported (1) or not (0)",
          3600, "box-lost", confirm_count=1),
]
