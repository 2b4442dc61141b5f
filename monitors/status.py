"""What `appliance monitors status` and the admin panel show: every check with state, value, since."""
from __future__ import annotations

from appliance.config import Settings
from appliance.models import utcnow

from .checks import enabled_checks
from .engine import suppression
from .models import CheckState


def rows(settings: Settings) -> list[dict]:
    """One dict per enabled check (checks that never ran show as unknown, 'not run yet')."""
    states = {row.check: row for row in CheckState.select()}
    now = utcnow()
    result = []
    for check, config in enabled_checks(settings):
        row = states.get(check.name)
        result.append({
            "check": check.name,
            "group": check.group,
            "state": row.state if row else "unknown",
            "value": row.value if row else None,
            "reason": row.reason if row else "not run yet",
            "since": row.since if row else None,
            "last_run_at": row.last_run_at if row else None,
            # A differing result not yet confirmed by flap damping: "crit 1/3".
            "pending": f"{row.candidate} {row.candidate_count}/{config.confirm_count}" if row and row.candidate else "",
            "acknowledged_by": row.acknowledged_by if row else None,
            "suppressed_by": suppression(check.name, now) or "",
            "runbook": config.runbook,
        })
    return result


def table(rows: list[dict]) -> list[str]:
    lines = [f"{'CHECK':<16} {'STATE':<8} {'VALUE':<10} {'SINCE (UTC)':<17} REASON"]
    for r in rows:
        since = r["since"].strftime("%Y-%m-%d %H:%M") if r["since"] else "-"
        notes = [n for n in (r["pending"] and f"→ {r['pending']}",
                             r["acknowledged_by"] and f"ack {r['acknowledged_by']}", r["suppressed_by"]) if n]
        extra = f" [{'; '.join(notes)}]" if notes else ""
        lines.append(f"{r['check']:<16} {r['state']:<8} {value_text(r['value'], 10, '-'):<10} {since:<17} {r['reason']}{extra}")
    return lines


def value_text(value, width: int = 40, empty: str = "") -> str:
    """A check's measured value, short: numbers without trailing zeros, text cut at `width`."""
    if value is None:
        return empty
    try:
        return f"{float(value):g}"
    except ValueError:
        return str(value)[:width]
