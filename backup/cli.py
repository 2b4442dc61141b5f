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


def _reach_options(func):
    """The flags that reach a target with no config (restic's "connect to a repository")."""
    options = [
        click.option("--from", "from_url", default=None, metavar="URL",
                     help="Read this target instead of the configured ones: sftp://USER@HOST:PORT/PATH, "
                          "s3://BUCKET/PREFIX or a folder (works on an empty home)."),
        click.option("--host-key", default=None, metavar="LINE",
                     help="sftp: the server's pinned host key ('ssh-ed25519 AAAA…'; a `ssh-keyscan -p PORT HOST` line will do)."),
        click.option("--ssh-key", default=None, metavar="FILE", help="sftp: the SSH private key of the user."),
        click.option("--endpoint", default=None, metavar="URL", help="s3: the endpoint (empty for AWS)."),
        click.option("--region", default="us-east-1", show_default=True, help="s3: the bucket's region."),
        click.option("--access-key-id", default=None, help="s3: the access key id."),
        click.option("--secret-key-file", default=None, metavar="FILE", help="s3: a file holding the secret access key."),
        click.option("--secret-key-stdin", is_flag=True, help="s3: read the secret access key from standard input."),
        click.option("--key-file", default=None, metavar="FILE",
                     help="With --from: the backup key (the recovery kit's key line, or `backup key export` "
                          "output); - reads it from standard input."),
    ]
    for option in reversed(options):
        func = option(func)
    return func


def _reach(from_url, host_key, ssh_key, endpoint, region, access_key_id, secret_key_file, secret_key_stdin):
    from .connect import Reach

    if secret_key_stdin and secret_key_file:
        raise BackupError("Give the S3 secret with --secret-key-file or --secret-key-stdin, not both.")
    secret = None
    if secret_key_stdin:
        from appliance.commandline import read_secret_stdin
        secret = read_secret_stdin()
    return Reach(from_url, host_key=host_key, ssh_key=ssh_key, endpoint=endpoint, region=region,
                 access_key_id=access_key_id, secret_key_file=secret_key_file, secret_key=secret)


def _key_from(key_file: str | None, secret_key_stdin: bool) -> keys.BackupKey:
    if not key_file:
        raise BackupError("--from needs --key-file FILE: the backup key (the recovery kit's key line).")
    if key_file == "-":
        if secret_key_stdin:
            raise BackupError("Only one of --key-file - and --secret-key-stdin can read standard input.")
        import sys
        return keys.parse(sys.stdin.read(), "the backup key on standard input")
    from pathlib import Path
    path = Path(key_file)
    if not path.is_file():
        raise BackupError(f"--key-file {key_file}: no such file.")
    return keys.parse(path.read_text(), key_file)


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
@click.option("--target", default=None, help="List what this target holds (read from its manifests, not the catalog).")
@_reach_options
@click.option("--json", "as_json", is_flag=True, help="With --target or --from: one JSON document.")
@pass_app
def list_command(app, limit: int, target: str | None, from_url, host_key, ssh_key, endpoint, region, access_key_id,
                 secret_key_file, secret_key_stdin, key_file, as_json: bool) -> None:
    """Backups in the catalog, newest first; with --target (or --from), what a target holds: each
    backup's time, box, lineage, counts and whether a copy was verified."""
    if not target and not from_url:
        for view in statuses.backups(app.settings(), limit):
            copies = " ".join(f"{c.target}:{c.state}" for c in view.copies)
            click.echo(f"{view.backup_id}  {_mib(view.payload_bytes):>10}  {copies}")
        return
    from . import connect, listing
    if from_url:
        reach = _reach(from_url, host_key, ssh_key, endpoint, region, access_key_id, secret_key_file, secret_key_stdin)
        key = _key_from(key_file, secret_key_stdin) if key_file else _home_key(app)
        settings = config.load(app.home, require_file=False)
        with connect.opened(reach, settings) as opened:
            result = listing.list_target(settings, opened, key, limit)
    else:
        try:
            settings = app.settings()  # the catalog adds whether each copy was verified
        except Exception:  # noqa: BLE001 - a box without a usable catalog still lists the target
            settings = config.load(app.home)
        result = listing.list_configured(settings, target, limit)
    if as_json:
        import json
        click.echo(json.dumps(result, indent=2))
        return
    for line in listing.lines(result):
        click.echo(line)


def _home_key(app) -> keys.BackupKey | None:
    """The home's backup key when it has one (manifests are then checked), else None (read unchecked)."""
    try:
        settings = config.load(app.home)
        return keys.load(settings.path(settings.backup.key_file))
    except Exception:  # noqa: BLE001 - an empty home lists with --key-file or unchecked
        return None


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
    from . import identity
    box = identity.load(settings)
    if box is not None:
        click.echo(f"this box: {box.box_id}, lineage {box.lineage}"
                   + (f" (restored from {box.restored_from} of lineage {box.parent_lineage or '(unnamed)'})"
                      if box.restored_from else "")
                   + ("; SANDBOX: makes no backups" if box.sandbox else ""))
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


@backup_group.command("identity")
@click.option("--adopt", is_flag=True, help="Make a sandbox a box that backs up (to the targets in its config).")
@pass_app
def identity_command(app, adopt: bool) -> None:
    """This box's id and lineage, as every backup it makes names them."""
    from . import identity

    settings = config.load(app.home)
    box = identity.adopt(settings) if adopt else identity.ensure(settings)
    click.echo(f"box {box.box_id}, lineage {box.lineage} since {box.since or '?'} UTC"
               + (f", restored from {box.restored_from} of lineage {box.parent_lineage or '(unnamed)'}"
                  if box.restored_from else "")
               + ("; SANDBOX: makes no backups (`appliance backup identity --adopt` changes that)" if box.sandbox else ""))


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
@click.option("--lineage", default=None, metavar="ID",
              help="Restore a backup of this lineage (default: this box's own, else the newest that is "
                   "neither a sandbox's nor a branch; `backup list --target` shows them).")
@click.option("--target", default=None, help="Restore from this target only (default: the best available).")
@click.option("--output", default=None, metavar="PATH|URL",
              help="Restore into this SQLite file or postgresql:// database instead of the home's database.")
@click.option("--force", is_flag=True, help="Replace an existing database (stop the service first); "
                                            "with --from, the home's config and keys too.")
@click.option("--sandbox", is_flag=True, help="A test restore: the box makes no backups until "
                                              "`appliance backup identity --adopt`.")
@_reach_options
@click.option("--config-only", is_flag=True, help="With --from: put back appliance.toml and the keys only, "
                                                 "not the database (the box-lost runbook restores it in its own step).")
@click.option("--from-replica", is_flag=True,
              help="Restore from the Litestream replica ([backup.replication]) to its last transaction, "
                   "or as of --as-of; SQLite only.")
@click.option("--full-check", is_flag=True,
              help="Also run SQLite's full integrity_check (about 19 s per GB) before replacing anything; "
                   "by default the bytes are proven identical to the backup's and the counts are "
                   "compared, and `backup verify` runs the full check on every copy.")
@click.option("--quiet", is_flag=True, help="No progress lines.")
@pass_app
def restore_command(app, backup_id, as_of, lineage, target, output, force, sandbox, from_url, host_key, ssh_key,
                    endpoint, region, access_key_id, secret_key_file, secret_key_stdin, key_file, config_only,
                    from_replica, full_check, quiet) -> None:
    """Restore a backup from the targets (works on a new box with only the config and the key); with
    --from, rebuild an empty home (config, keys, database) from that target."""
    if from_url:
        _restore_from(app, backup_id, as_of, lineage, target, output, force, sandbox, from_url, host_key, ssh_key,
                      endpoint, region, access_key_id, secret_key_file, secret_key_stdin, key_file, from_replica,
                      full_check, quiet, config_only)
        return
    if config_only:
        raise BackupError("--config-only goes with --from: it puts back the config and keys a target's backup carries.")
    settings = config.load(app.home)
    report = _execute(settings, "backup.restore", {
        "backup_id": backup_id, "as_of": as_of, "target": target, "output": output, "force": force,
        "from_replica": from_replica, "full_check": full_check, "lineage": lineage, "sandbox": sandbox}, quiet)
    counts = ", ".join(f"{k}={v}" for k, v in report.counts.items())
    if from_replica:
        click.echo(f"restored the replica {report.replica} up to transaction {report.txid} into "
                   f"{report.destination} in {report.seconds:.1f} s")
        click.echo(counts)
        _replica_warnings(report)
        if output is None:
            from . import identity
            from .restore import record_restored
            record_restored(settings, f"the replica (transaction {report.txid})",
                            settings.backup.replication.target or "?")
            own = identity.load(settings)
            identity.after_restore(settings, own.lineage if own else None, "the replica", sandbox)
            _next_steps(settings)
        return
    _report_restore(report, backup_id, as_of)
    if output is None:
        _next_steps(settings)


def _report_restore(report, backup_id, as_of) -> None:
    counts = ", ".join(f"{k}={v}" for k, v in report.counts.items())
    for reason in report.skipped:
        click.echo(f"skipped: {reason}", err=True)
    if report.newest_available and not backup_id:
        why = ("made after --as-of" if as_of else "not verified yet, or no good copy")
        click.echo(f"note: newer backup {report.newest_available} exists but was not restored ({why}); "
                   f"--backup-id {report.newest_available} restores it", err=True)
    click.echo(f"restored backup {report.backup_id} from {report.target} into {report.destination}")
    click.echo(f"made {report.created_at:%Y-%m-%d %H:%M:%S} UTC, {_age(report.age_seconds)} ago; {counts}")
    whose = (f"lineage {report.lineage} of box {report.box_id}" if report.lineage
             else "a backup made before backups named their box and lineage")
    click.echo(f"took {whose}" + (f" ({report.lineage_reason})" if report.lineage_reason else ""))
    for line in report.other_lineages[:5]:
        click.echo(f"  also on the targets: lineage {line} (--lineage ID restores it)")


def _restore_from(app, backup_id, as_of, lineage, target, output, force, sandbox, from_url, host_key, ssh_key,
                  endpoint, region, access_key_id, secret_key_file, secret_key_stdin, key_file, from_replica,
                  full_check, quiet, config_only=False) -> None:
    from . import rebuild
    from .operations import parse_time

    if target or output or from_replica:
        raise BackupError("--from rebuilds the home from that target: it takes no --target, --output or --from-replica.")
    key = _key_from(key_file, secret_key_stdin)
    reach = _reach(from_url, host_key, ssh_key, endpoint, region, access_key_id, secret_key_file, secret_key_stdin)
    done = rebuild.rebuild(app.home, reach, key, backup_id=backup_id, as_of=parse_time(as_of), lineage=lineage,
                           force=force, sandbox=sandbox, show_progress=not quiet, full_check=full_check,
                           config_only=config_only)
    click.echo(f"rebuilt {app.home}: " + ", ".join(done.written))
    if done.report is None:
        click.echo(f"config and keys put back from {done.target_name}; the database is next "
                   f"(`appliance restore --target {done.target_name} --force`, or the box-lost runbook's restore step)")
        return
    _report_restore(done.report, backup_id, as_of)
    _next_steps(config.load(app.home))


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
