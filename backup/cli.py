"""`appliance backup run|list|status|verify|prune|key export|kit` and `appliance restore`."""
from __future__ import annotations


import click

from appliance import config, operations
from appliance.commandline import AppGroup, pass_app

from . import keys, replication, status as statuses
from .errors import BackupError


def _mib(n: int) -> str:
    return f"{n / 1048576:.1f} MiB"


def _age(seconds: float | None) -> str:
    if seconds is None:
        return "never"
    for unit, size in (("d", 86400), ("h", 3600), ("min", 60)):
        if seconds >= size:
            return f"{seconds / size:.1f} {unit}"
    return f"{seconds:.0f} s"


@click.group("backup", cls=AppGroup)
def backup_group() -> None:
    """Encrypted 3-2-1 backups: run, list, status, verify, prune, key export, recovery kit."""


@backup_group.command("run")
@click.option("--quiet", is_flag=True, help="No progress lines.")
@pass_app
def run_command(app, quiet: bool) -> None:
    """Snapshot the database once and put it on every target (catching up missed copies)."""
    report = _execute(app.settings(), "backup.run", {}, quiet)
    for backup_id, target in report.caught_up:
        click.echo(f"caught up {backup_id} on {target}")
    stored = ", ".join(report.stored) or "no target"
    click.echo(f"backup {report.backup_id} stored on {stored} ({_mib(report.bytes)} sent)")
    if report.timings:
        click.echo("timings (s from start): " + ", ".join(f"{k} {v:.2f}" for k, v in report.timings.items()))
    if report.failed:
        reasons = "; ".join(f"{name}: {why}" for name, why in report.failed.items())
        raise BackupError(f"Backup {report.backup_id} missed {len(report.failed)} target(s), "
                          f"to be caught up next run: {reasons}")


@backup_group.command("list")
@click.option("--limit", default=50, show_default=True, help="How many backups, newest first.")
@pass_app
def list_command(app, limit: int) -> None:
    """Backups in the catalog, newest first, with their copies."""
    for view in statuses.backups(app.settings(), limit):
        copies = " ".join(f"{c.target}:{c.state}" for c in view.copies)
        click.echo(f"{view.backup_id}  {_mib(view.payload_bytes):>10}  {copies}")


@backup_group.command("status")
@click.option("--limit", default=10, show_default=True, help="How many backups, newest first.")
@pass_app
def status_command(app, limit: int) -> None:
    """Per backup: copies, verification, 3-2-1; and the newest restorable copy against the RPO."""
    settings = app.settings()
    fresh = statuses.freshness(settings)
    if fresh.first_backup_pending:
        r = fresh.restored
        click.echo(f"restored from {r['source']} on {r['target']} at {r['restored_at']:%Y-%m-%d %H:%M:%S} UTC; "
                   f"first backup pending (`appliance backup run` makes it now); "
                   f"RPO {fresh.rpo_seconds} s not met until it is made")
    else:
        verdict = "met" if fresh.meets_rpo else "NOT met"
        click.echo(f"newest restorable backup: {fresh.backup_id or 'none'}, age {_age(fresh.age_seconds)}; "
                   f"RPO {fresh.rpo_seconds} s {verdict}")
    replicated = replication.facts(settings)
    if replicated is not None:
        click.echo(f"continuous replication: {_replication_line(replicated)}")
    for view in statuses.backups(settings, limit):
        rule = "3-2-1 ok" if view.rule_321 else "3-2-1 NOT met"
        click.echo(f"{view.backup_id}  {rule}: {view.rule_detail}")
        for c in view.copies:
            line = f"    {c.target:<12} {c.state:<9} verify {c.verify_state}"
            if c.locked_until:
                line += f", locked until {c.locked_until:%Y-%m-%d}"
            if c.error and c.state != "complete" or c.verify_state == "failed":
                line += f" ({c.error})"
            click.echo(line)


@backup_group.command("verify")
@click.option("--sample", default=None, help="Check only this share (10%) or number of copies; "
                                             "the longest-unchecked go first, so runs rotate.")
@click.option("--target", default=None, help="Only copies on this target.")
@click.option("--quiet", is_flag=True, help="No progress lines.")
@pass_app
def verify_command(app, sample: str | None, target: str | None, quiet: bool) -> None:
    """Restore copies into a scratch database and check them end to end."""
    outcomes = _execute(app.settings(), "backup.verify", {"sample": sample, "target": target}, quiet)
    for o in outcomes:
        click.echo(f"{o.backup_id} on {o.target}: {'ok' if o.ok else 'FAILED'} ({o.detail}, {o.seconds:.1f} s)")
    failed = [o for o in outcomes if not o.ok]
    if failed:
        raise BackupError(f"{len(failed)} of {len(outcomes)} copies failed verification: "
                          + "; ".join(f"{o.backup_id} on {o.target}: {o.detail}" for o in failed[:3]))
    if not outcomes:
        click.echo("no complete copies to verify")


@backup_group.command("prune")
@click.option("--dry-run", is_flag=True, help="Only say what would be deleted.")
@pass_app
def prune_command(app, dry_run: bool) -> None:
    """Apply retention on every target (never the last verified backup, never locked copies)."""
    report = _execute(app.settings(), "backup.prune", {"dry_run": dry_run}, quiet=True)
    verb = "would delete" if dry_run else "deleted"
    for target, backup_id in report.deleted:
        click.echo(f"{verb} {backup_id} on {target}")
    for target, backup_id, until in report.locked:
        when = f" until {until:%Y-%m-%d %H:%M}" if until else ""
        click.echo(f"kept {backup_id} on {target}: under Object Lock{when}")
    if report.failed:
        raise BackupError("Prune could not reach: " + "; ".join(f"{n}: {w}" for n, w in report.failed.items()))


@backup_group.group("key")
def key_group() -> None:
    """The backup key."""


@key_group.command("export")
@pass_app
def key_export_command(app) -> None:
    """Print the backup key to store offline: a restore on a new box needs it."""
    settings = config.load(app.home)
    click.echo(keys.export_text(keys.load(settings.path(settings.backup.key_file))), nl=False)


@backup_group.command("kit")
@click.option("--output", default=None, metavar="DIR", type=click.Path(file_okay=False),
              help="Write recovery-kit.html and recovery-kit.txt here (default: the keys folder).")
@pass_app
def kit_command(app, output: str | None) -> None:
    """Print and write the recovery kit: the one sheet (with the backup key) a new box needs; print it, keep it offline."""
    from pathlib import Path

    from . import kit

    sheet, written = kit.export(app.settings(), Path(output) if output else None)
    click.echo(sheet.text(), nl=False)
    click.echo("")
    for path in written:
        click.echo(f"wrote {path}  (print it, keep it offline, then delete the file)")


def _replication_line(f: dict) -> str:
    if not f["running"]:
        return f"NOT running: {f['reason']}"
    lag = "unknown" if f["lag_seconds"] is None else f"{f['lag_seconds']:.1f} s"
    return f"running, lag {lag} ({f['reason']}) to {f.get('replica')}"


@click.group("replication", cls=AppGroup)
def replication_group() -> None:
    """Continuous WAL copy with Litestream: run the supervisor, show its state."""


@replication_group.command("run")
@pass_app
def replication_run_command(app) -> None:
    """Supervise Litestream in this process until SIGTERM/SIGINT (one supervisor per box).

    `appliance serve` already supervises it from the box's scheduler; use this command when the
    replication should run as its own service. Whichever starts first supervises, the other waits.
    """
    import signal

    settings = config.load(app.home)
    if not settings.backup.replication.enabled:
        raise BackupError("Continuous replication is off: set [backup.replication] enabled = true and a target.")
    supervisor = replication.Supervisor(settings, wait_for_lock=False)

    def stop(signum, frame):
        supervisor.stop()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    click.echo(f"replicating {replication.database_path(settings)} to {replication.describe_replica(settings)}", err=True)
    supervisor.run()


@replication_group.command("verify")
@click.option("--quiet", is_flag=True, help="No progress lines.")
@pass_app
def replication_verify_command(app, quiet: bool) -> None:
    """Restore the replica into a scratch database and run the full integrity check (recorded)."""
    report = _execute(app.settings(), "replication.verify", {}, quiet)
    click.echo(f"replica {report.replica}: ok, restored up to transaction {report.txid} in {report.seconds:.1f} s")
    click.echo(", ".join(f"{k}={v}" for k, v in report.counts.items()))
    _replica_warnings(report)


@replication_group.command("status")
@pass_app
def replication_status_command(app) -> None:
    """Whether Litestream runs, and how many seconds of writes exist only on this box."""
    settings = config.load(app.home)
    f = replication.facts(settings)
    if f is None:
        click.echo("continuous replication is off ([backup.replication] enabled = false)")
        return
    click.echo(_replication_line(f))
    click.echo(f"local txid {f.get('local_txid')}, replica txid {f.get('replica_txid')}, restarts {f.get('restarts')}")
    if not f["running"]:
        raise BackupError(f"Continuous replication is not running: {f['reason']}")


@click.command("restore")
@click.option("--backup-id", default=None, help="Restore this backup (default: the latest verified).")
@click.option("--as-of", default=None, metavar="TIME",
              help="Restore the newest backup made at or before TIME (ISO 8601, UTC unless it has an offset).")
@click.option("--target", default=None, help="Restore from this target only (default: the best available).")
@click.option("--output", default=None, metavar="PATH|URL",
              help="Restore into this SQLite file or postgresql:// database instead of the home's database.")
@click.option("--force", is_flag=True, help="Replace an existing database (stop the service first).")
@click.option("--from-replica", is_flag=True,
              help="Restore from the Litestream replica ([backup.replication]) to its last transaction, "
                   "or as of --as-of; SQLite only.")
@click.option("--full-check", is_flag=True,
              help="Run SQLite's full integrity_check (about 19 s per GB) instead of quick_check; "
                   "`backup verify` always runs the full one.")
@click.option("--quiet", is_flag=True, help="No progress lines.")
@pass_app
def restore_command(app, backup_id, as_of, target, output, force, from_replica, full_check, quiet) -> None:
    """Restore a backup from the targets (works on a new box with only the config and the key)."""
    settings = config.load(app.home)
    report = _execute(settings, "backup.restore", {
        "backup_id": backup_id, "as_of": as_of, "target": target, "output": output, "force": force,
        "from_replica": from_replica, "full_check": full_check}, quiet)
    counts = ", ".join(f"{k}={v}" for k, v in report.counts.items())
    if from_replica:
        click.echo(f"restored the replica {report.replica} up to transaction {report.txid} into "
                   f"{report.destination} in {report.seconds:.1f} s")
        click.echo(counts)
        _replica_warnings(report)
        if output is None:
            from .restore import record_restored
            record_restored(settings, f"the replica (transaction {report.txid})",
                            settings.backup.replication.target or "?")
            _next_steps(settings)
        return
    for reason in report.skipped:
        click.echo(f"skipped: {reason}", err=True)
    if report.newest_available and not backup_id:
        click.echo(f"note: newer backup {report.newest_available} exists but was not restored (not verified "
                   f"yet, or no good copy); --backup-id {report.newest_available} restores it", err=True)
    click.echo(f"restored backup {report.backup_id} from {report.target} into {report.destination}")
    click.echo(f"made {report.created_at:%Y-%m-%d %H:%M:%S} UTC, {_age(report.age_seconds)} ago; {counts}")
    if output is None:
        _next_steps(settings)


def _replica_warnings(report) -> None:
    """Newest files missing from the replica (its signed index lists them), or why that can't be checked."""
    if report.missing:
        click.echo(f"warning: {report.missing}", err=True)
    for note in report.notes:
        click.echo(f"note: {note}", err=True)


def _next_steps(settings: config.Settings) -> None:
    """After a restore into the home's database: what the admin does next, in one screen."""
    steps = []
    secret = settings.path(settings.server.secret_key_file)
    if not secret.exists():
        steps.append(f"`appliance init`: makes the missing {secret.name} and keeps the restored database "
                     "(safe here: it makes only what is missing)")
    steps += [
        "sign in with the restored users' own passwords: the old box's users came back with the database, "
        "and a password given to `appliance init` on this box does not work",
        "rotate the old box's API tokens: `appliance token list`, then for each `appliance token revoke NAME` "
        "and `appliance token create --name NAME --role ROLE` (give the tills the new ones)",
        "change the passwords: `appliance user list`, then `appliance user passwd NAME --password-stdin`",
        "make a first backup now: `appliance backup run` (`backup status` says \"first backup pending\" "
        "until then)",
        "start the shop: `appliance serve` (or restart its service)",
    ]
    click.echo("next steps:")
    for n, step in enumerate(steps, 1):
        click.echo(f"  {n}. {step}")


def _execute(settings: config.Settings, name: str, params: dict, quiet: bool):
    """Every backup command runs its registered operation: checked, recorded, exclusive where it must be."""
    return operations.execute(settings, name, params, actor=operations.cli_actor(), source="cli",
                              show_progress=not quiet)


COMMANDS = [backup_group, restore_command, replication_group]
