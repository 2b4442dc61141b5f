"""The backup package's operations (see appliance/operations.py): what the CLI, the scheduler, the
/ops page and runbook steps start. The functions here translate parameters and results; the work
is done by run, verify, retention, restore and replication."""
from __future__ import annotations

from datetime import datetime, timezone

from appliance import runtime
from appliance.operations import Context, Operation, Outcome, Param, register

from . import replication, restore as restoring, retention, run as running, verify as verifying
from .errors import BackupError
from .manifest import backup_time
from .models import BackupCopy, BackupSet


def _run(ctx: Context) -> running.RunReport:
    return running.run_backup(ctx.settings, show_progress=ctx.show_progress)


def _run_outcome(report: running.RunReport) -> Outcome:
    text = f"backup {report.backup_id} stored on {', '.join(report.stored) or 'no target'}"
    if report.failed:
        text += "; missed " + "; ".join(f"{name}: {why}" for name, why in report.failed.items())
    if report.caught_up:
        text += f"; caught up {len(report.caught_up)} earlier cop{'y' if len(report.caught_up) == 1 else 'ies'}"
    return Outcome(report.outcome, text, report.bytes)


def _verify(ctx: Context, sample: str | None, target: str | None) -> list[verifying.VerifyOutcome]:
    return verifying.verify(ctx.settings, sample, target, show_progress=ctx.show_progress)


def _verify_outcome(outcomes: list[verifying.VerifyOutcome]) -> Outcome:
    failed = [o for o in outcomes if not o.ok]
    text = f"{len(outcomes) - len(failed)} of {len(outcomes)} copies verified"
    if failed:
        text += ": " + "; ".join(f"{o.backup_id} on {o.target}: {o.detail}" for o in failed[:3])
    return Outcome("failed" if failed else "ok", text)


def _prune(ctx: Context, dry_run: bool) -> retention.PruneReport:
    return retention.prune(ctx.settings, dry_run)


def _prune_outcome(report: retention.PruneReport) -> Outcome:
    verb = "would delete" if report.dry_run else "deleted"
    text = f"{verb} {len(report.deleted)}, locked {len(report.locked)}, failed {len(report.failed)}"
    return Outcome("partial" if report.failed else "ok", text)


def _restore(ctx: Context, backup_id: str | None, as_of: str | None, target: str | None, output: str | None,
             force: bool, from_replica: bool, full_check: bool, lineage: str | None = None, sandbox: bool = False):
    settings, when = ctx.settings, parse_time(as_of)
    if from_replica:
        if backup_id or target:
            raise BackupError("--from-replica restores the replica; it takes no --backup-id or --target.")
        return replication.restore(settings, output=output, force=force, full_check=full_check,
                                   timestamp=when.strftime("%Y-%m-%dT%H:%M:%SZ") if when else None,
                                   show_progress=ctx.show_progress)
    return restoring.restore(settings, backup_id=backup_id, as_of=when, target=target, output=output, force=force,
                             verified=_catalog_verified(settings), show_progress=ctx.show_progress,
                             full_check=full_check, lineage=lineage, sandbox=sandbox)


def _restore_outcome(report) -> Outcome:
    if isinstance(report, restoring.RestoreReport):
        return Outcome("ok", f"restored backup {report.backup_id} from {report.target} into {report.destination}")
    return Outcome("partial" if report.missing else "ok",
                   f"restored the replica {report.replica} up to transaction {report.txid} "
                   f"into {report.destination}" + (f"; {report.missing}" if report.missing else ""))


def _replica_verify(ctx: Context):
    return replication.verify(ctx.settings, show_progress=ctx.show_progress)


def _replica_verify_outcome(report) -> Outcome:
    return Outcome("partial" if report.missing else "ok",
                   f"restored up to transaction {report.txid}: integrity ok; "
                   + ", ".join(f"{k}={v}" for k, v in report.counts.items())
                   + (f"; {report.missing}" if report.missing else ""))


def parse_time(text: str | None) -> datetime | None:
    """`--as-of`: ISO 8601 (UTC unless it has an offset) or a backup id's time; naive UTC."""
    if not text:
        return None
    try:
        value = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        try:
            return backup_time(text)
        except ValueError:
            raise BackupError(f"--as-of takes an ISO 8601 time like 2026-11-22T15:30 (got {text!r}).") from None
    return value.astimezone(timezone.utc).replace(tzinfo=None) if value.tzinfo else value


def _catalog_verified(settings) -> set[str] | None:
    """Backup ids with a verified copy, when this box still has its catalog (never creates one)."""
    dest = restoring.destination(settings, None)
    try:
        if not dest.exists():
            return None
        runtime.connect(settings)
        if not BackupCopy.table_exists():
            return None
        rows = (BackupSet.select(BackupSet.backup_id).join(BackupCopy)
                .where(BackupCopy.verify_state == "ok").distinct())
        return {r.backup_id for r in rows}
    except Exception:  # noqa: BLE001 - a damaged database is a reason to restore, not to stop
        return None
    finally:
        runtime.close()


BACKUP_LOCK = "backup"  # a backup and a prune never run at once: prune must not delete what a run writes

RUN = register(Operation(
    "backup.run", "Run a backup now", "admin", _run, exclusive=BACKUP_LOCK, record=_run_outcome,
    help="Snapshot the database once and put it on every target (catching up missed copies)."))
VERIFY = register(Operation(
    "backup.verify", "Verify backups", "admin", _verify, record=_verify_outcome,
    params=(Param("sample", help="Check only this share (10%) or number of copies; the longest-unchecked go first."),
            Param("target", help="Only copies on this target.")),
    help="Restore copies into a scratch database and check them end to end."))
PRUNE = register(Operation(
    "backup.prune", "Apply retention", "admin", _prune, exclusive=BACKUP_LOCK, record=_prune_outcome,
    params=(Param("dry_run", bool, help="Only say what would be deleted.", default=False),),
    help="Apply retention on every target (never the last verified backup, never locked copies)."))
RESTORE = register(Operation(
    "backup.restore", "Restore the database", "admin", _restore, exclusive="restore", record=_restore_outcome,
    replaces_database=True, background=False,
    params=(Param("backup_id", help="Restore this backup (default: the latest verified)."),
            Param("as_of", help="The newest backup made at or before this time (ISO 8601, UTC unless it has an offset)."),
            Param("target", help="Restore from this target only."),
            Param("output", help="Restore into this SQLite file or postgresql:// database instead of the home's.",
                  secret=True),
            Param("force", bool, default=False, help="Replace an existing database (stop the service first)."),
            Param("from_replica", bool, default=False, help="Restore from the Litestream replica (SQLite only)."),
            Param("full_check", bool, default=False, help="Also run SQLite's full integrity_check before replacing anything."),
            Param("lineage", help="Restore a backup of this lineage (default: this box's, else the shop's newest)."),
            Param("sandbox", bool, default=False, help="Mark the restored box a sandbox: it makes no backups.")),
    help="Restore a backup from the targets (works on a new box with only the config and the key)."))
REPLICA_VERIFY = register(Operation(
    "replication.verify", "Verify the replica", "admin", _replica_verify, record=_replica_verify_outcome,
    help="Restore the replica into a scratch database and run the full integrity check."))
