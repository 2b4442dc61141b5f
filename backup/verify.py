"""`backup verify`: prove copies restorable, by restoring them into a scratch database.

Each check downloads the copy, checks the manifest HMAC and the payload SHA-256, decrypts,
decompresses, loads the snapshot into a scratch database, runs the engine's integrity check and
compares the business counts with the manifest. Sampling picks the copies checked longest ago
first, so successive sampled runs cover every copy.
"""
from __future__ import annotations

import math
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from appliance.config import Settings
from appliance.models import utcnow

from . import archive, keys, snapshot, store
from .errors import BackupError, CorruptCopy
from .models import BackupCopy, BackupSet, VerifyResult
from .staging import working_folder
from .targets import Target, open_targets


@dataclass
class VerifyOutcome:
    backup_id: str
    target: str
    ok: bool
    detail: str
    seconds: float


def compare_counts(found: dict, manifest: dict[str, Any], where: str) -> None:
    expected = manifest["counts"]
    if found != expected:
        differing = ", ".join(f"{k}: {expected.get(k)!r} in manifest, {found.get(k)!r} restored"
                              for k in sorted(set(found) | set(expected)) if found.get(k) != expected.get(k))
        raise CorruptCopy(f"The database restored from {where} does not match its manifest ({differing}).")


def check_copy(settings: Settings, target: Target, backup_id: str, key: keys.BackupKey, work: Path,
               show_progress: bool = True) -> dict[str, Any]:
    """Restores one copy into scratch space and checks it end to end; returns its manifest."""
    where = f"backup {backup_id} on {target.name}"
    manifest = store.fetch_manifest(target, backup_id, work, key)
    restored = work / "snapshot"
    with store.payload_stream(target, backup_id, work, manifest) as payload:
        archive.extract(payload, manifest, key, restored, where, show_progress, durable=False)
    if manifest["engine"] == "sqlite":
        counts = snapshot.check_sqlite_file(restored, where)
    else:
        with snapshot.scratch_postgres(_postgres_server_url(settings, where)) as scratch:
            snapshot.restore_postgres(restored, scratch, clean=False)
            counts = snapshot.check_postgres(scratch)
    compare_counts(counts, manifest, where)
    return manifest


def _postgres_server_url(settings: Settings, where: str) -> str:
    url = settings.database.url
    if not url.startswith(("postgresql://", "postgres://")):
        raise BackupError(f"{where} is a PostgreSQL dump; verifying it needs a PostgreSQL server "
                          "(database.url) to restore it into.")
    return url


def sample_size(sample: str | None, total: int) -> int:
    if not sample:
        return total
    if sample.endswith("%"):
        share = float(sample[:-1])
        if not 0 < share <= 100:
            raise BackupError(f"--sample must be between 0% and 100% (got {sample}).")
        return min(total, max(1, math.ceil(total * share / 100))) if total else 0
    if not sample.isdigit() or int(sample) < 1:
        raise BackupError(f"--sample takes a percentage like 10% or a number of copies (got {sample}).")
    return min(total, int(sample))


def copies_to_verify(target: str | None = None) -> list[BackupCopy]:
    """Never-verified copies first (newest backup first), then the ones verified longest ago."""
    query = (BackupCopy.select(BackupCopy, BackupSet).join(BackupSet)
             .where(BackupCopy.state == "complete"))
    if target:
        query = query.where(BackupCopy.target == target)
    return list(query.order_by(BackupCopy.verified_at.is_null(False), BackupCopy.verified_at.asc(),
                               BackupSet.created_at.desc(), BackupCopy.target))


def verify(settings: Settings, sample: str | None = None, target: str | None = None,
           show_progress: bool = True) -> list[VerifyOutcome]:
    key = keys.load(settings.path(settings.backup.key_file))
    targets = {t.name: t for t in open_targets(settings, target)}
    candidates = [c for c in copies_to_verify(target) if c.target in targets]
    chosen = candidates[: sample_size(sample, len(candidates))]
    outcomes = []
    try:
        for copy in chosen:
            outcomes.append(_verify_one(settings, targets[copy.target], copy, key, show_progress))
    finally:
        for t in targets.values():
            t.close()
    return outcomes


def _verify_one(settings: Settings, target: Target, copy: BackupCopy, key: keys.BackupKey,
                show_progress: bool) -> VerifyOutcome:
    start = time.monotonic()
    try:
        # the payload downloaded and the database restored from it (staging.py says why in memory)
        scratch = copy.backup.snapshot_bytes + copy.backup.payload_bytes
        with working_folder(settings, f"verify-{copy.backup.backup_id}-{copy.target}", in_memory=scratch) as work:
            check_copy(settings, target, copy.backup.backup_id, key, work, show_progress)
        ok, detail = True, "restored into a scratch database; integrity and counts match"
    except BackupError as e:
        ok, detail = False, e.message
    seconds = time.monotonic() - start
    VerifyResult.create(copy=copy, ok=ok, detail=detail, duration_seconds=seconds)
    copy.verify_state, copy.verified_at = ("ok" if ok else "failed"), utcnow()
    copy.verify_error = None if ok else detail
    copy.save()
    return VerifyOutcome(copy.backup.backup_id, copy.target, ok, detail, seconds)
