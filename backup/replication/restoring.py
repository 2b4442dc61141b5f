"""Restore from the replica, and verify it by restoring it: the sealed files are downloaded and
opened into a scratch file replica, `litestream restore -o` builds a file beside the destination, then
the same integrity check and business counts as `appliance restore`, then one atomic rename.

(Not named restore.py: the package exports the function `restore`, which would hide a module of that name.)"""
from __future__ import annotations

import json
import os
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

from appliance.config import Settings

from .. import keys, sealed_replica, snapshot
from .. import restore as restoring
from ..staging import sqlite_bytes, working_folder
from .config import (ReplicationError, child_env, database_path, describe_replica, litestream_binary, meta_dir,
                     outbox_dir, replica_location, replica_target, write_config)


@dataclass
class ReplicaRestore:
    txid: int
    counts: dict
    destination: str
    replica: str
    seconds: float
    notes: list[str] = field(default_factory=list)  # e.g. an old replica whose completeness cannot be checked
    missing: str | None = None  # the replica's signed index lists newer files than it holds (one sentence)


def restore(settings: Settings, *, output: str | None = None, force: bool = False,
            timestamp: str | None = None, full_check: bool = False, show_progress: bool = True,
            scratch_in_memory: int | None = None) -> ReplicaRestore:
    """Newest state of the replica (or as of `timestamp`) into the home's database or `output`.

    Checked like a backup restore: every file opens with the backup key (AES-GCM), Litestream checks
    each LTX file's checksums and the restored database's checksum, then the business
    counts; `full_check` runs integrity_check. A wrong key or a damaged file changes nothing.
    Newest files missing from the replica (its signed index lists more) do not stop the restore: the
    result's `missing` says what is missing and where the restore stopped (sealed_replica's doc says why).
    `scratch_in_memory`: the bytes the unsealed replica may take, for its folder in memory (staging).
    """
    if not settings.backup.replication.target:
        raise ReplicationError("No replica is configured: set [backup.replication] target in appliance.toml.")
    started = time.monotonic()
    source_db = database_path(settings)  # Litestream names the replica by the database it came from
    dest = restoring.destination(settings, output)
    if dest.engine != "sqlite":
        raise ReplicationError("A Litestream replica restores into a SQLite file only.")
    restoring._refuse_overwrite(dest, force)
    key = keys.load(settings.path(settings.backup.key_file))
    dest.path.parent.mkdir(parents=True, exist_ok=True)
    building = dest.path.with_name(f".{dest.path.name}.restoring")
    where = f"the replica {describe_replica(settings)}"
    # this restore's own: a backup run leaves it alone
    with working_folder(settings, "replica-restore", in_memory=scratch_in_memory) as work:
        txid, counts, fetched = _restore_into(settings, work, source_db, dest, building, where, key, force,
                                              timestamp, full_check, show_progress)
    return ReplicaRestore(txid, counts, str(dest.path), describe_replica(settings), time.monotonic() - started,
                          notes=fetched.notes, missing=fetched.missing)


def _restore_into(settings: Settings, work: Path, source_db: Path, dest, building: Path, where: str, key,
                  force: bool, timestamp: str | None, full_check: bool,
                  show_progress: bool) -> tuple[int, dict, sealed_replica.FetchReport]:
    try:
        for leftover in (building, Path(f"{building}-wal"), Path(f"{building}-shm")):
            leftover.unlink(missing_ok=True)
        unsealed = work / "replica"
        fetched = sealed_replica.fetch(settings, replica_target(settings), replica_location(settings),
                                       describe_replica(settings), key.encryption, unsealed, show_progress,
                                     every_file=bool(timestamp))
        config = write_config(settings, work / "litestream.yml", outbox=unsealed)
        command = [litestream_binary(settings), "restore", "-json", "-config", str(config), "-o", str(building)]
        if timestamp:
            command += ["-timestamp", timestamp]
        result = subprocess.run(command + [str(source_db)], capture_output=True, text=True,
                                env=child_env(), timeout=3600)
        if result.returncode != 0:
            raise ReplicationError(f"Restoring from {where} failed: {_last_line(result.stderr)}; nothing was changed.")
        try:
            txid = int(json.loads(result.stdout)["txid"], 16)
        except (ValueError, KeyError, TypeError):
            txid = 0
        counts = snapshot.check_sqlite_file(building, where, full=full_check)
        restoring._refuse_overwrite(dest, force)
        restoring._set_aside(dest.path)
        _set_aside_meta(settings, dest.path)
        os.replace(building, dest.path)
        return txid, counts, fetched
    finally:
        for leftover in (building, Path(f"{building}-wal"), Path(f"{building}-shm")):
            leftover.unlink(missing_ok=True)


def verify(settings: Settings, show_progress: bool = True) -> ReplicaRestore:
    """Proves the replica restorable: restores it into a scratch file with the full integrity check
    and removes the scratch file. The `replication.verify` operation records the run."""
    # The database restored, and the replica unsealed: its snapshot and the changes since, each up to
    # the database's size (staging.py says why in memory).
    size = sqlite_bytes(database_path(settings))
    with working_folder(settings, "replica-verify", in_memory=size) as folder:  # the scratch database goes with it
        return restore(settings, output=str(folder / "verified.db"), force=True, full_check=True,
                       show_progress=show_progress, scratch_in_memory=2 * size)


def _set_aside_meta(settings: Settings, db_path: Path) -> None:
    """Litestream's local state (and, for the box's own database, its outbox) describes the replaced
    database's history, not the restored one."""
    stamp = time.strftime('%Y%m%dT%H%M%SZ', time.gmtime())
    history = [meta_dir(db_path)] + ([outbox_dir(settings)] if db_path.resolve() == database_path(settings) else [])
    for folder in history:
        if folder.exists():
            os.replace(folder, folder.with_name(f"{folder.name}.before-restore-{stamp}"))


def _last_line(text: str) -> str:
    lines = [line.strip() for line in text.strip().splitlines() if line.strip()]
    return lines[-1][:300] if lines else "no output"
