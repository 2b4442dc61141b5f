"""`appliance restore`: bring a backup back, from the best copy available.

Works without the catalog (a new box has only its config and its key): backups are found by listing
the targets. Each copy is fully checked (HMAC, SHA-256, decryption, integrity, counts) in a temporary
place before anything existing is touched; a bad copy is skipped for the next one.
"""
from __future__ import annotations

import json
import os
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from urllib.parse import urlparse

from appliance.config import Settings
from appliance.db import open_database
from appliance.models import utcnow

from . import archive, identity, keys, snapshot, store
from . import manifest as mf
from .errors import (BackupError, KeyProblem, NothingToRestore, RestoreRefused, UnsupportedFormat)
from .manifest import backup_time
from .staging import working_folder
from .targets import Target, backups_on, open_targets
from .targets.local import fsync_dir
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
    box_id: str | None = None            # whose backup it is (None: made before backups named it)
    lineage: str | None = None
    lineage_reason: str = ""             # why this lineage was taken
    other_lineages: list[str] = field(default_factory=list)  # one line each, for the output
    manifest: dict = field(default_factory=dict, repr=False)

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
            verified: set[str] | None = None, show_progress: bool = True, full_check: bool = False,
            lineage: str | None = None, sandbox: bool = False, targets: list[Target] | None = None,
            key: keys.BackupKey | None = None) -> RestoreReport:
    """Restores into the home's database or `output`; `verified` are backup ids the catalog vouches for.

    Without `backup_id`, only backups of one lineage are candidates (`choose_lineage`): `lineage` if
    given, else this box's own, else the shop's newest one that is neither a sandbox's nor a branch.
    `targets` (opened by the caller, who closes them) replace the configured ones: `restore --from`.
    A restore into the home's database starts a new lineage of this box (a sandbox's with `sandbox`).
    """
    key = key or keys.load(settings.path(settings.backup.key_file))
    dest = destination(settings, output)
    _refuse_overwrite(dest, force)
    owned = targets is None
    targets = open_targets(settings, target) if owned else targets
    skipped: list[str] = []
    try:
        holders = _complete_backups(targets, skipped)
        chosen, reason, others = None, "", []
        if not backup_id and holders:
            whose = survey(settings, holders, key, skipped)
            own = identity.load(settings)
            chosen, reason, others = choose_lineage(whose, lineage, own.lineage if own else None)
            holders = {b: h for b, h in holders.items() if b in whose and (whose[b]["lineage"] or "") == chosen}
        for candidate in _candidates(holders, backup_id, as_of, verified):
            for holder in _by_preference(holders[candidate]):
                try:
                    report = _restore_copy(settings, holder, candidate, key, dest, force, show_progress, full_check)
                    report.skipped = skipped
                    newest = max(holders)
                    report.newest_available = newest if newest > report.backup_id else None
                    report.lineage_reason, report.other_lineages = reason, others
                    if output is None:  # the home's own database: `backup status` says so until a backup
                        record_restored(settings, f"backup {report.backup_id}", report.target)
                        identity.after_restore(settings, report.lineage, f"backup {report.backup_id}", sandbox)
                    return report
                except UnsupportedFormat:
                    raise
                except BackupError as e:
                    skipped.append(e.message)
    finally:
        if owned:
            for t in targets:
                t.close()
    _give_up(backup_id, as_of, skipped, chosen)


# -- whose backups the targets hold (backup/identity.py) -------------------------------------------

def survey(settings: Settings, holders: dict[str, list[Target]], key: keys.BackupKey | None,
           skipped: list[str]) -> dict[str, dict]:
    """backup id -> its manifest's `whose` fields (+ "manifest", "target"), read from the nearest
    holder whose manifest checks (HMAC with `key`, when given); a backup none can show is skipped.

    One small download per backup: from folders and buckets 8 at a time (a bucket far away answers
    each in tens of milliseconds), over SFTP one after the other on the target's one channel."""
    ids = sorted(holders)
    with working_folder(settings, "survey") as work:
        def read(backup_id: str) -> tuple[str, dict | None, list[str]]:
            problems: list[str] = []
            for holder in _by_preference(holders[backup_id]):
                try:
                    manifest = store.fetch_manifest(holder, backup_id, work / holder.name / backup_id, key)
                except UnsupportedFormat:
                    raise
                except BackupError as e:
                    problems.append(e.message)
                    continue
                return backup_id, {**mf.whose(manifest), "manifest": manifest, "target": holder.name}, problems
            return backup_id, None, problems

        if len(ids) > 2 and all(t.kind != "sftp" for held in holders.values() for t in held):
            newest = read(ids[-1])  # first alone: each target makes its client once
            with ThreadPoolExecutor(max_workers=8, thread_name_prefix="restore-survey") as pool:
                results = [*pool.map(read, ids[:-1]), newest]
        else:
            results = [read(b) for b in ids]
    found: dict[str, dict] = {}
    for backup_id, whose, problems in results:
        skipped.extend(problems)
        if whose is not None:
            found[backup_id] = whose
    return found


def lineages(whose: dict[str, dict]) -> dict[str, dict]:
    """lineage ("" for backups made before backups named one) -> first, newest, count, box, parent,
    since, sandbox, branch (its parent lineage made a backup after this one began, i.e. after the
    restore that started it: the box it was restored from lived on, so this is a copy's history, not
    the shop's; a box that replaces a dead one starts after the dead box's last backup)."""
    out: dict[str, dict] = {}
    for backup_id in sorted(whose):
        w = whose[backup_id]
        lin = out.setdefault(w["lineage"] or "", {"first": backup_id, "count": 0, "box_id": w["box_id"],
                                                  "parent": w["parent_lineage"], "sandbox": False,
                                                  "since": w.get("lineage_since") or backup_id})
        lin["newest"], lin["count"] = backup_id, lin["count"] + 1
        lin["sandbox"] = lin["sandbox"] or w["sandbox"]
    for name, lin in out.items():
        parent = out.get(lin["parent"] or "\0")
        lin["branch"] = bool(name and parent is not None and parent["newest"] > min(lin["since"], lin["first"]))
    return out


def choose_lineage(whose: dict[str, dict], wanted: str | None, own: str | None) -> tuple[str, str, list[str]]:
    """(lineage, why, one line per other lineage): `wanted` (a unique prefix will do), else this box's
    own lineage when the targets hold it, else the lineage with the newest backup among those that are
    neither a sandbox's nor a branch (falling back to any)."""
    lins = lineages(whose)
    if wanted:
        matches = [name for name in lins if name == wanted] or [name for name in lins if name and name.startswith(wanted)]
        if len(matches) != 1:
            known = ", ".join(_label(n, lins[n]) for n in sorted(lins)) or "none"
            raise NothingToRestore(f"{'No' if not matches else 'More than one'} lineage {wanted!r} on the targets "
                                   f"(lineages: {known}); nothing was changed.")
        chosen, why = matches[0], "the lineage asked for"
    elif own and own in lins:
        chosen, why = own, "this box's own lineage"
    else:
        fits = ([n for n, lin in lins.items() if not lin["sandbox"] and not lin["branch"]]
                or [n for n, lin in lins.items() if not lin["sandbox"]] or list(lins))
        chosen = max(fits, key=lambda n: lins[n]["newest"]) if fits else ""
        why = "the newest lineage that is neither a sandbox's nor a branch of a box that went on backing up"
    others = [_label(n, lin) + f": {lin['count']} backup(s), newest {lin['newest']}"
              + (", sandbox" if lin["sandbox"] else "") + (f", branch of {lin['parent']}" if lin["branch"] else "")
              for n, lin in sorted(lins.items()) if n != chosen]
    return chosen, why, others


def _label(name: str, lin: dict) -> str:
    return f"{name} (box {lin['box_id']})" if name else "(unnamed: made before backups named their box)"


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


def _give_up(backup_id, as_of, skipped: list[str], lineage: str | None = None):
    if skipped and all("backup key" in s for s in skipped):
        raise KeyProblem(skipped[0])
    wanted = f"backup {backup_id}" if backup_id else (f"a backup as of {as_of:%Y-%m-%d %H:%M:%S} UTC" if as_of else "a backup")
    if lineage:
        wanted += f" of lineage {lineage}"
    reasons = f" Tried: {' | '.join(skipped[:4])}" if skipped else ""
    raise NothingToRestore(f"No good copy of {wanted} was found on the targets; nothing was changed.{reasons}")


def _restore_copy(settings: Settings, target: Target, backup_id: str, key: keys.BackupKey,
                  dest: Destination, force: bool, show_progress: bool, full_check: bool = False) -> RestoreReport:
    where = f"backup {backup_id} on {target.name}"
    with working_folder(settings, f"restore-{backup_id}-{target.name}") as work:
        manifest = store.fetch_manifest(target, backup_id, work, key)
        if manifest["engine"] != dest.engine:
            raise BackupError(f"{where} is a {manifest['engine']} backup; the destination is {dest.engine}.")
        with store.payload_stream(target, backup_id, work, manifest) as payload:  # decoded as it downloads
            if dest.engine == "sqlite":
                counts = _restore_sqlite(payload, manifest, key, dest.path, force, where, show_progress, full_check)
            else:
                counts = _restore_postgres(work, payload, manifest, key, dest.url, force, where, show_progress)
    whose = mf.whose(manifest)
    return RestoreReport(backup_id, target.name, backup_time(backup_id), counts, dest.describe(),
                         box_id=whose["box_id"], lineage=whose["lineage"], manifest=manifest)


def _restore_sqlite(payload: archive.CheckedPayload, manifest: dict, key: keys.BackupKey, path: Path, force: bool,
                    where: str, show_progress: bool, full_check: bool = False) -> dict:
    path.parent.mkdir(parents=True, exist_ok=True)
    # Built next to the destination, so the final step is one atomic rename on the same disk.
    building = path.with_name(f".{path.name}.restoring")
    try:
        archive.extract(payload, manifest, key, building, where, show_progress)
        counts = snapshot.check_sqlite_file(building, where, full=full_check)  # verify always runs the full one
        compare_counts(counts, manifest, where)
        _refuse_overwrite(Destination("sqlite", path=path), force)
        _set_aside(path)
        os.replace(building, path)
        fsync_dir(path.parent)  # the restored database is there after a power cut, not only its bytes
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


def _restore_postgres(work: Path, payload: archive.CheckedPayload, manifest: dict, key: keys.BackupKey, url: str,
                      force: bool, where: str, show_progress: bool) -> dict:
    dump = work / "dump"
    archive.extract(payload, manifest, key, dump, where, show_progress, durable=False)  # pg_restore reads it once
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
