"""What the monitors read about backups, replication and drills.

Backups and replication: `backup.status.monitor_facts(settings)` (monitors may import backup, never
the reverse). It returns a dict:

    {"targets": [{"name": str, "medium": str, "offsite": bool,
                  "last_success_at": datetime | None,      # naive UTC, newest complete copy
                  "last_duration_seconds": float | None, "last_size_bytes": int | None,
                  "last_verified_at": datetime | None, "last_verify_ok": bool | None}],
     "rule_321": {"ok": bool, "reason": str} | None,
     "replication": {"running": bool, "lag_seconds": float | None, "reason": str} | None}

Drills: the runbooks package calls `record_drill(...)` (runbooks may import monitors).
Anything missing reads as None, and the checks report "unknown", never "ok".
"""
from __future__ import annotations

import logging
from datetime import datetime

from appliance.config import Settings
from appliance.models import utcnow
from backup import status as backup_status

from .models import DrillResult

log = logging.getLogger(__name__)


def backup_facts(settings: Settings) -> dict:
    return backup_status.monitor_facts(settings)


def record_drill(runbook: str, *, succeeded: bool, rto_seconds: float | None = None,
                 rpo_seconds: float | None = None, note: str = "", at: datetime | None = None) -> DrillResult:
    """A finished restore drill: what RTO and RPO it actually achieved."""
    return DrillResult.create(runbook=runbook, succeeded=succeeded, rto_seconds=rto_seconds,
                              rpo_seconds=rpo_seconds, note=note, at=at or utcnow())


def latest_drills() -> list[DrillResult]:
    """The newest drill result of each runbook."""
    newest: dict[str, DrillResult] = {}
    for row in DrillResult.select().order_by(DrillResult.at):
        newest[row.runbook] = row
    return list(newest.values())
