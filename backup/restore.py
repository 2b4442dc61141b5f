"""`appliance restore`: bring a backup back, from the best copy available.

Works without the catalog (a new box has only its config and its key): backups are found by listing
the targets. Each copy is fully checked (HMAC, SHA-256, decryption, integrity, counts) in a temporary
place before anything existing is touched; a bad copy is skipped for the next one.
"""
from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from urllib.parse import urlparse

from appliance.config import Settings
from appliance.db import open_database
from appliance.models import utcnow

from . import archive, keys, snapshot, store
from .errors import (BackupError, KeyProblem, NothingToRestore, RestoreRefused, UnsupportedFormat)
from .manifest import backup_time
from .staging import working_folder
from .targets import Target, backups_on, open_targets
from .verify import compare_counts


@dataclass
class Destination:
    engine: str  # sqlite | postgresql
    path: Path | None = None
    url: str | None = None

    def describe(self) -> str:
        return str(self.path) if self.path else _without_password(self.url or "")

    def exists(self) -> bool:
        if self.path:
            return self.path.exists() and self.path.stat().st_size > 0
        return snapshot.postgres_has_tables(self.url)


@dataclass
class RestoreReport:
    backup_id: str
    target: str
    created_at: datetime
    counts: dict
    destination: str
    skipped: list[str] = field(default_factory=list)
    newest_available: str | None = None  # when a newer (unverified or bad) backup exists

    @property
    def age_seconds(self) -> float:
        return (utcnow() - self.created_at).total_seconds()


def destination(settings: Settings, output: str | None) -> Destination:
    url = output if output and output.startswith(("postgresql://", "postgres://")) else None
    if output and not url:
        return Destination("sqlite", path=Path(output).resolve())
    url = url or settings.database.url
    if url.startswith("sqlite:"):
        return Destination("sqlite", path=Path(open_database(url, settings.home).database))
    return Destination("postgresql", url=url)


def restore(settings: Settings, *, backup_id: str | None = None, as_of: datetime | None = None,
            target: str | None = None, output: str | None = None, force: bool = False,
            verified: set[str] | None = None, show_progress: bool = True, full_check: bool = False) -> RestoreReport:
    """Restores into the home's database or `output`; `verified` are backup ids the catalog vouches for."""
    key = keys.load(settings.path(settings.backup.key_file))
    dest = destination(settings, output)
    _refuse_overwrite(dest, force)
    targets = open_targets(settings, target)
    skipped: list[str] = []
    try:
        holders = _complete_backups(targets, skipped)
        for candidate in _candidates(holders, backup_id, as_of, verified):
            for holder in _by_preference(holders[candidate]):
                try:
                    report = _restore_copy(settings, holder, candidate, key, dest, force, show_progress, full_check)
                    report.skipped = skipped
                    newest = max(holders)
                    report.newest_available = newest if newest > report.backup_id else None
                    if output is None:  # the home's own database: `backup status` says so until a backup
                        record_restored(settings, f"backup {report.backup_id}", report.target)
                    return report
                except UnsupportedFormat:
                    raise
                except BackupError as e:
                    skipped.append(e.message)
    finally:
        for t in targets:
            t.close()
    _give_up(backup_id, as_of, skipped)


# -- what the home's database was restored from (`backup status`: "first backup pending") ---------

RESTORED_FILE = "run/restored.json"


def record_restored(settings: Settings, source: str, target: str, at: datetime | None = None) -> None:
    """Writes run/restored.json (whole or not at all): `source` ("backup <id>" or "the replica <…>"),
    the target it came from and when (UTC), after a restore into the home's database."""
    path = settings.path(RESTORED_FILE)
    path.parent.mkdir(parents=True, exist_ok=True)
    at = at or utcnow()
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(json.dumps({"source": source, "target": target,
                               "restored_at": at.strftime("%Y-%m-%dT%H:%M:%S")}) + "\n")
    os.replace(tmp, path)


def last_restored(settings: Settings) -> dict | None:
    """The record `record_restored` wrote ({"source", "target", "restored_at": datetime}), or None."""
    try:
        record = json.loads(settings.path(RESTORED_FILE).read_text())
        record["restored_at"] = datetime.fromisoformat(record["restored_at"])
        return record
    except (OSError, ValueError, KeyError, TypeError):
        return None


def _refuse_overwrite(dest: Destination, force: bool) -> None:
    if not force and dest.exists():
        raise RestoreRefused(
            f"{dest.describe()} already holds a database; stop the service and add --force to replace it "
            "(the old one is kept aside), or restore elsewhere with --output.")


def _complete_backups(targets: list[Target], skipped: list[str]) -> dict[str, list[Target]]:
    holders: dict[str, list[Target]] = {}
    for t in targets:
        try:
            complete, _ = backups_on(t.list())
        except BackupError as e:
            skipped.append(e.message)
            continue
        for backup_id in complete:
            holders.setdefault(backup_id, []).append(t)
    return holders


def _candidates(holders: dict[str, list[Target]], backup_id: str | None, as_of: datetime | None,
                verified: set[str] | None) -> list[str]:
    newest_first = sorted(holders, reverse=True)
    if backup_id:
        return [backup_id] if backup_id in holders else []
    if as_of:
        return [b for b in newest_first if backup_time(b) <= as_of]
    if verified:
        # Latest verified first; newer unverified ones only if every verified one fails.
        good = [b for b in newest_first if b in verified]
        return good + [b for b in newest_first if b not in verified]
    return newest_first


def _by_preference(holders: list[Target]) -> list[Target]:
    # Nearest first: a local disk restores faster than the network, onsite faster than offsite.
    rank = {"local": 0, "sftp": 1, "s3": 2}
    return sorted(holders, key=lambda t: (t.offsite, rank.get(t.kind, 3)))


def _give_up(backup_id, as_of, skipped: list[str]):
    if skipped and all("backup key" in s for s in skipped):
        raise KeyProblem(skipped[0])
    wanted = f"backup {backup_id}" if backup_id else (f"a backup as of {as_of:%Y-%m-%d %H:%M:%S} UTC" if as_of else "a backup")
    reasons = f" Tried: {' | '.join(skipped[:4])}" if skipped else ""
    raise NothingToRestore(f"No good copy of {wanted} was found on the targets; nothing was changed.{reasons}")


def _restore_copy(settings: Settings, target: Target, backup_id: str, key: keys.BackupKey,
                  dest: Destination, force: bool, show_progress: bool, full_check: bool = False) -> RestoreReport:
    where = f"backup {backup_id} on {target.name}"
    with working_folder(settings, f"restore-{backup_id}-{target.name}") as work:
        manifest = store.fetch(target, backup_id, work, key, show_progress)
        if manifest["engine"] != dest.engine:
            raise BackupError(f"{where} is a {manifest['engine']} backup; the destination is {dest.engine}.")
        if dest.engine == "sqlite":
            counts = _restore_sqlite(work, manifest, key, dest.path, force, where, show_progress, full_check)
        else:
            counts = _restore_postgres(work, manifest, key, dest.url, force, where, show_progress)
    return RestoreReport(backup_id, target.name, backup_time(backup_id), counts, dest.describe())


def _restore_sqlite(work: Path, manifest: dict, key: keys.BackupKey, path: Path, force: bool,
                    where: str, show_progress: bool, full_check: bool = False) -> dict:
    path.parent.mkdir(parents=True, exist_ok=True)
    # Built next to the destination, so the final step is one atomic rename on the same disk.
    building = path.with_name(f".{path.name}.restoring")
    try:
        archive.extract(work / archive.mf.PAYLOAD_NAME, manifest, key, building, where, show_progress)
        counts = snapshot.check_sqlite_file(building, where, full=full_check)  # verify always runs the full one
        compare_counts(counts, manifest, where)
        _refuse_overwrite(Destination("sqlite", path=path), force)
        _set_aside(path)
        os.replace(building, path)
    finally:
        building.unlink(missing_ok=True)
    return counts


def _set_aside(path: Path) -> None:
    """Keeps the replaced database (and its WAL, which must never meet the new file) beside it."""
    stamp = utcnow().strftime("%Y%m%dT%H%M%SZ")
    for suffix in ("", "-wal", "-shm"):
        old = Path(f"{path}{suffix}")
        if old.exists():
            os.replace(old, Path(f"{path}.before-restore-{stamp}{suffix}"))


def _restore_postgres(work: Path, manifest: dict, key: keys.BackupKey, url: str, force: bool,
                      where: str, show_progress: bool) -> dict:
    dump = work / "dump"
    archive.extract(work / archive.mf.PAYLOAD_NAME, manifest, key, dump, where, show_progress)
    _refuse_overwrite(Destination("postgresql", url=url), force)
    snapshot.restore_postgres(dump, url, clean=force)
    counts = snapshot.check_postgres(url)
    compare_counts(counts, manifest, where)
    return counts


def _without_password(url: str) -> str:
    p = urlparse(url)
    if p.password:
        return p._replace(netloc=p.netloc.replace(f":{p.password}@", ":***@")).geturl()
    return url
