"""`backup status`: per backup, where its copies are and whether the 3-2-1 rule holds; and the age
of the newest restorable copy against the configured RPO."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from appliance.config import Settings
from appliance.models import OperationRun, utcnow

from .models import BackupCopy, BackupSet

COPIES, MEDIA, OFFSITE = 3, 2, 1


@dataclass
class CopyView:
    target: str
    state: str
    verify_state: str
    verified_at: datetime | None
    locked_until: datetime | None
    error: str | None


@dataclass
class BackupView:
    backup_id: str
    created_at: datetime
    payload_bytes: int
    copies: list[CopyView]
    rule_321: bool
    rule_detail: str


@dataclass
class Freshness:
    backup_id: str | None
    age_seconds: float | None
    rpo_seconds: int
    # Set while the home's database was restored (backup/restore.py record_restored) and no backup was
    # made since: {"source": "backup <id>" | "the replica …", "target": name, "restored_at": datetime}.
    # The RPO is still not met then, but the box is not failing: its first backup is due.
    restored: dict | None = None

    @property
    def first_backup_pending(self) -> bool:
        return self.restored is not None

    @property
    def meets_rpo(self) -> bool:
        return self.age_seconds is not None and self.age_seconds <= self.rpo_seconds


def rule_321(settings: Settings, targets_with_copy: list[str]) -> tuple[bool, str]:
    """3 copies, on 2 media, 1 of them offsite (copies that failed verification don't count)."""
    by_name = {t.name: t for t in settings.backup.targets}
    present = [by_name[n] for n in targets_with_copy if n in by_name]
    copies, media, offsite = len(present), len({t.medium for t in present}), sum(t.offsite for t in present)
    ok = copies >= COPIES and media >= MEDIA and offsite >= OFFSITE
    detail = f"{copies} copies, {media} media, {offsite} offsite"
    if not ok:
        missing = [f"{COPIES} copies" if copies < COPIES else "", f"{MEDIA} media" if media < MEDIA else "",
                   "an offsite copy" if offsite < OFFSITE else ""]
        detail += " (needs " + ", ".join(m for m in missing if m) + ")"
    return ok, detail


def backups(settings: Settings, limit: int = 20) -> list[BackupView]:
    views = []
    for backup in BackupSet.select().order_by(BackupSet.backup_id.desc()).limit(limit):
        copies = [CopyView(c.target, c.state, c.verify_state, c.verified_at, c.locked_until,
                           c.last_error or c.verify_error)
                  for c in backup.copies.order_by(BackupCopy.target)]
        good = [c.target for c in copies if c.state == "complete" and c.verify_state != "failed"]
        ok, detail = rule_321(settings, good)
        views.append(BackupView(backup.backup_id, backup.created_at, backup.payload_bytes, copies, ok, detail))
    return views


def freshness(settings: Settings) -> Freshness:
    """The newest backup with a complete copy that did not fail verification."""
    row = (BackupSet.select(BackupSet).join(BackupCopy)
           .where(BackupCopy.state == "complete", BackupCopy.verify_state != "failed")
           .order_by(BackupSet.backup_id.desc()).first())
    age = (utcnow() - row.created_at).total_seconds() if row else None
    fresh = Freshness(row.backup_id if row else None, age, settings.recovery.rpo_seconds)
    from .restore import last_restored
    restored = last_restored(settings)
    if restored is not None and (row is None or row.created_at < restored["restored_at"]):
        fresh.restored = restored  # the rows before it are the old box's catalog, restored with it
    return fresh


def last_success_by_target() -> dict[str, datetime]:
    """For metrics (appliance_backup_last_success_timestamp_seconds{target})."""
    last: dict[str, datetime] = {}
    for copy in BackupCopy.select(BackupCopy.target, BackupCopy.stored_at).where(
            BackupCopy.state == "complete", BackupCopy.stored_at.is_null(False)):
        last[copy.target] = max(last.get(copy.target, copy.stored_at), copy.stored_at)
    return last


def monitor_facts(settings: Settings) -> dict:
    """What the monitors read (see monitors/recovery_facts.py for the shape)."""
    last_run = (OperationRun.select().where(OperationRun.operation == "backup.run",
                                            OperationRun.outcome.in_(("ok", "partial", "failed")))
                .order_by(OperationRun.id.desc()).first())
    targets = []
    for t in settings.backup.targets:
        stored = (BackupCopy.select().where(BackupCopy.target == t.name, BackupCopy.state == "complete")
                  .order_by(BackupCopy.stored_at.desc()).first())
        checked = (BackupCopy.select().where(BackupCopy.target == t.name, BackupCopy.verified_at.is_null(False))
                   .order_by(BackupCopy.verified_at.desc()).first())
        targets.append({
            "name": t.name, "medium": t.medium, "offsite": t.offsite,
            "last_success_at": stored.stored_at if stored else None,
            "last_duration_seconds": last_run.duration_seconds if last_run else None,
            "last_size_bytes": stored.bytes if stored else None,
            "last_verified_at": checked.verified_at if checked else None,
            "last_verify_ok": (checked.verify_state == "ok") if checked else None,
        })
    newest = backups(settings, limit=1)
    rule = {"ok": newest[0].rule_321, "reason": newest[0].rule_detail} if newest else None
    from .replication import facts as replication_facts
    return {"targets": targets, "rule_321": rule, "replication": replication_facts(settings)}
