"""`backup prune`: retention per target (keep the last N plus daily/weekly/monthly generations).

Never deletes the newest verified backup, never touches an object still under Object Lock, and
deletes a backup's manifest first, so a half-pruned backup stops listing as complete at once.
Folders without a manifest (interrupted uploads) are garbage and go too.

The policy applies to each lineage on a target apart (restic's `forget --group-by host`): another
box's backups on the same target — a drill's restored copy, an adopted test box, the box this one
replaced — never push this box's own generations out of their count, nor do this box's theirs.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from appliance.config import Settings
from appliance.models import utcnow

from . import keys
from . import restore as restoring
from .errors import BackupError, KeyProblem, ObjectLocked
from .manifest import MANIFEST_NAME, backup_time
from .models import BackupCopy, BackupSet
from .settings import RetentionSettings
from .targets import Target, backups_on, open_targets


@dataclass
class PruneReport:
    deleted: list[tuple[str, str]] = field(default_factory=list)  # (target, backup_id)
    locked: list[tuple[str, str, datetime | None]] = field(default_factory=list)
    kept: dict[str, int] = field(default_factory=dict)
    failed: dict[str, str] = field(default_factory=dict)
    dry_run: bool = False


def keep_set(backup_ids: list[str], policy: RetentionSettings) -> set[str]:
    """Which backups the policy keeps: the newest N, plus the newest of each recent day/week/month."""
    newest = sorted(backup_ids, reverse=True)
    keep = set(newest[: policy.keep_last])
    generations = (
        (policy.keep_daily, lambda t: t.date()),
        (policy.keep_weekly, lambda t: tuple(t.isocalendar())[:2]),
        (policy.keep_monthly, lambda t: (t.year, t.month)),
    )
    for count, period_of in generations:
        periods: list = []
        for backup_id in newest:
            period = period_of(backup_time(backup_id))
            if period in periods:
                continue
            if len(periods) == count:
                break
            periods.append(period)
            keep.add(backup_id)
    return keep


def newest_verified(target: str | None = None) -> str | None:
    query = (BackupSet.select(BackupSet.backup_id).join(BackupCopy)
             .where(BackupCopy.verify_state == "ok", BackupCopy.state == "complete"))
    if target:
        query = query.where(BackupCopy.target == target)
    row = query.order_by(BackupSet.backup_id.desc()).first()
    return row.backup_id if row else None


def prune(settings: Settings, dry_run: bool = False) -> PruneReport:
    report = PruneReport(dry_run=dry_run)
    targets = open_targets(settings)
    protected = {b for b in (newest_verified(),) if b}
    try:
        for target in targets:
            try:
                _prune_target(settings, target, protected, report, dry_run)
            except BackupError as e:
                report.failed[target.name] = e.message
    finally:
        for target in targets:
            target.close()
    return report


def _prune_target(settings: Settings, target: Target, protected: set[str], report: PruneReport,
                  dry_run: bool) -> None:
    keys = target.list()
    complete, incomplete = backups_on(keys)
    policy = _policy_for(settings, target.name)
    keep = set().union(*(keep_set(group, policy) for group in _by_lineage(settings, target, complete).values()))
    keep |= protected | {b for b in (newest_verified(target.name),) if b}
    report.kept[target.name] = len([b for b in complete if b in keep])
    for backup_id in [b for b in complete if b not in keep] + incomplete:
        folder_keys = [k for k in keys if k.startswith(f"{backup_id}/")]
        locked_until = _locked_until(target, folder_keys)
        if locked_until:
            report.locked.append((target.name, backup_id, locked_until))
            continue
        if not dry_run:
            try:
                _delete_folder(target, folder_keys)
            except ObjectLocked:
                report.locked.append((target.name, backup_id, None))
                continue
            _mark_deleted(target.name, backup_id)
        report.deleted.append((target.name, backup_id))


def _by_lineage(settings: Settings, target: Target, complete: list[str]) -> dict[str, list[str]]:
    """Backup ids by the lineage their manifests name (one small download each); backups made before
    manifests named one, or whose manifest cannot be read, form one group of their own."""
    try:
        key = keys.load(settings.path(settings.backup.key_file))
    except KeyProblem:
        key = None
    whose = restoring.survey(settings, {b: [target] for b in complete}, key, []) if complete else {}
    groups: dict[str, list[str]] = {}
    for backup_id in complete:
        groups.setdefault((whose.get(backup_id) or {}).get("lineage") or "", []).append(backup_id)
    return groups


def _policy_for(settings: Settings, name: str) -> RetentionSettings:
    for t in settings.backup.targets:
        if t.name == name and t.retention is not None:
            return t.retention
    return settings.backup.retention


def _locked_until(target: Target, keys: list[str]) -> datetime | None:
    now = utcnow()
    dates = [info.locked_until for k in keys if (info := target.stat(k)) and info.locked_until]
    later = [d for d in dates if d > now]
    return max(later) if later else None


def _delete_folder(target: Target, keys: list[str]) -> None:
    # Manifest first: from that moment the backup no longer lists as complete anywhere.
    for key in sorted(keys, key=lambda k: not k.endswith(f"/{MANIFEST_NAME}")):
        target.delete(key)


def _mark_deleted(target: str, backup_id: str) -> None:
    backup = BackupSet.get_or_none(BackupSet.backup_id == backup_id)
    if backup:
        BackupCopy.update(state="deleted").where(BackupCopy.backup == backup, BackupCopy.target == target).execute()
