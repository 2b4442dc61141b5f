"""`backup run`: one snapshot, put on every target; a target that fails is recorded and caught up later.

Catch-up copies a backup a target missed from another target that has it, with exponential backoff
per copy (so a target that stays down is not hammered at every run).
"""
from __future__ import annotations

import dataclasses
import json
import time
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path

from appliance.config import Settings
from appliance.db import database, is_postgres
from appliance.models import utcnow

from . import archive, carried, identity, keys, store
from . import manifest as mf
from .errors import BackupError
from .models import BackupCopy, BackupSet
from .staging import remove_abandoned, sqlite_bytes, working_folder
from .stream import GrowingFile, ProductionFailed
from .targets import Target, build


@dataclass
class RunReport:
    backup_id: str
    stored: list[str] = field(default_factory=list)
    failed: dict[str, str] = field(default_factory=dict)
    caught_up: list[tuple[str, str]] = field(default_factory=list)  # (backup_id, target)
    bytes: int = 0
    # Seconds from the start of the run: "snapshot" and "sealed" (payload complete), and per target
    # when its copy was complete (manifest in place) or failed.
    timings: dict[str, float] = field(default_factory=dict)

    @property
    def outcome(self) -> str:
        return "ok" if not self.failed else ("partial" if self.stored else "failed")


def run_backup(settings: Settings, show_progress: bool = True) -> RunReport:
    """One backup run. The `backup.run` operation (backup/operations.py) records it and keeps it from
    running beside another run or a prune."""
    key = keys.load(settings.path(settings.backup.key_file))
    if not settings.backup.targets:
        raise BackupError("No backup targets are configured: add [[backup.targets]] to appliance.toml.")
    box = identity.ensure(settings)
    if box.sandbox:
        raise BackupError("This box is a sandbox (restored with --sandbox): it does not back up to the shop's "
                          "targets; `appliance backup identity --adopt` makes it a box that backs up.")
    _forget_interrupted(settings)
    report = RunReport(mf.new_backup_id())
    targets: list[Target] = []
    try:
        with working_folder(settings, f"backup-{report.backup_id}", in_memory=_scratch_bytes()) as folder:
            _make_and_store(settings, key, folder, targets, show_progress, report)
        catch_up(settings, targets, key, report, show_progress)
    finally:
        for target in targets:
            target.close()
    return report


def _scratch_bytes() -> int | None:
    """What the run's working folder may hold: the payload on its way to the targets, and on SQLite
    a copy of the database when its file cannot be pinned (snapshot.py): scratch that need not go to
    the disk the orders are committed on (staging.py). On PostgreSQL the dump's size is not known
    beforehand: the staging directory."""
    if is_postgres():
        return None
    return 2 * sqlite_bytes(Path(database.obj.database))


def _forget_interrupted(settings: Settings) -> None:
    """Leftovers of a run that was killed: its copies never completed, its files are garbage; so are
    the working folders of any job whose process is gone. The folders of jobs still running (a
    verify, a restore, the replica shipper, in this process or another) are theirs: left alone."""
    BackupCopy.update(state="failed", last_error="interrupted before the upload completed",
                      next_attempt_at=utcnow()).where(BackupCopy.state == "uploading").execute()
    remove_abandoned(settings)


def _record_backup(made: archive.Archive) -> BackupSet:
    m = made.manifest
    return BackupSet.create(
        backup_id=made.backup_id, created_at=utcnow(), engine=m["engine"],
        snapshot_bytes=m["snapshot_bytes"], payload_bytes=m["payload_bytes"],
        payload_sha256=m["payload_sha256"], counts_json=json.dumps(m["counts"]))


def _make_and_store(settings: Settings, key: keys.BackupKey, folder: Path, targets: list[Target],
                    show_progress: bool, report: RunReport) -> None:
    """Makes the payload once and uploads it to every target while it is being made; fills
    `targets` (opened here, closed by the caller).

    One thread per target opens it (the first target of a kind imports boto3 or paramiko, about
    0.3 s of one core) and connects, while this thread pins a snapshot and compresses + encrypts it
    into a stream.GrowingFile, which each target's thread then reads as it grows: the slowest
    target sets the time, not making + uploading one after the other, and the imports overlap the
    compression instead of delaying it. Each upload puts the manifest only after its payload is in
    place, and only once the payload is complete and recorded in the catalog (a failed production
    aborts every upload: nothing is stored). The catalog is written from this thread only: the
    backup and its copies ("uploading") once the payload is made, then each copy's outcome.
    `folder` is the run's working folder (the caller removes it).
    """
    started = time.monotonic()

    def mark(what: str) -> None:
        report.timings[what] = round(time.monotonic() - started, 3)

    configured = settings.backup.targets
    payload = GrowingFile(folder / mf.PAYLOAD_NAME)
    manifest_ready: Future[bytes] = Future()
    opened: list[Future[Target]] = [Future() for _ in configured]
    with ThreadPoolExecutor(max_workers=len(configured), thread_name_prefix="backup-upload") as pool:
        uploads = [pool.submit(_open_and_upload, settings, cfg, opened[i], payload, manifest_ready,
                               report.backup_id, show_progress, mark) for i, cfg in enumerate(configured)]
        try:
            made = archive.seal(settings, key, folder, report.backup_id, payload, show_progress,
                                on_snapshot=lambda how: mark("snapshot"))
            made = _whose(settings, key, made)
        except BaseException as e:
            payload.abort(_reason(e))
            manifest_ready.set_exception(ProductionFailed(f"The backup was not made: {_reason(e)}"))
            targets += _opened(opened)  # for the caller to close
            raise
        payload.finish()  # the uploads finish their payloads while the catalog is written
        mark("sealed")
        try:
            targets += _opened(opened)
            # A target that could not even be built (e.g. its library is not installed) fails
            # the run before anything is recorded, as when the targets were opened first.
            for target in opened:
                target.result()
            # the catalog knows the backup before any copy of it can be complete
            backup = _record_backup(made)
            copies = {t.name: _begin_copy(backup, t) for t in targets}
        except BaseException as e:
            manifest_ready.set_exception(ProductionFailed(f"The backup was not recorded: {_reason(e)}"))
            raise
        manifest_ready.set_result(made.manifest_bytes)
        for target, upload in zip(targets, uploads):
            try:
                sent, info = upload.result()
            except BackupError as e:
                _fail_copy(settings, copies[target.name], target, e)
                report.failed[target.name] = e.message
                continue
            _complete_copy(copies[target.name], sent, info)
            report.bytes += sent
            report.stored.append(target.name)
    if report.failed:
        (folder / mf.MANIFEST_NAME).write_bytes(made.manifest_bytes)
        _retry_in_run(settings, backup, [t for t in targets if t.name in report.failed], folder,
                      show_progress, report, mark)


def _whose(settings: Settings, key: keys.BackupKey, made: archive.Archive) -> archive.Archive:
    """The manifest also names the box and its lineage (backup/identity.py) and carries the box's
    config, sealed with the backup key (backup/carried.py); signed again over all of it."""
    fields = {**made.manifest, **identity.ensure(settings).manifest_fields(), **carried.manifest_fields(settings, key)}
    return dataclasses.replace(made, manifest=mf.sign(fields, key))


def _retry_in_run(settings: Settings, backup: BackupSet, failed: list[Target], folder: Path,
                  show_progress: bool, report: RunReport, mark) -> None:
    """Tries the failed copies again from the payload made for them (a dropped connection or a
    server restarting is often back within seconds), waiting retry_in_run_seconds, then twice that…
    Each attempt is recorded; what still fails is left to catch-up at a later run."""
    delay = settings.backup.retry_in_run_seconds
    for _ in range(settings.backup.retries_in_run):
        if not failed:
            return
        time.sleep(delay)
        delay *= 2
        for target in list(failed):
            try:
                sent = _store_copy(settings, target, backup, folder, show_progress)
            except BackupError as e:
                report.failed[target.name] = e.message
                continue
            failed.remove(target)
            del report.failed[target.name]
            report.stored.append(target.name)
            report.bytes += sent
            mark(target.name)


def _reason(error: BaseException) -> str:
    return getattr(error, "message", None) or str(error) or type(error).__name__


def _opened(opened: list[Future]) -> list[Target]:
    """The targets that their threads could build (each sets its future before uploading)."""
    return [f.result() for f in opened if f.exception() is None]


def _open_and_upload(settings: Settings, target_settings, opened: Future, payload: GrowingFile,
                     manifest_ready: Future, backup_id: str, show_progress: bool, mark):
    """On an upload thread: builds the target (the first one of a kind imports its library), hands
    it to the run through `opened`, then uploads the payload while it is being made."""
    try:
        target = build(target_settings, settings)
    except BaseException as e:
        opened.set_exception(e)
        raise
    opened.set_result(target)
    return _upload_streamed(target, payload, manifest_ready, backup_id, show_progress, mark)


def _upload_streamed(target: Target, payload: GrowingFile, manifest_ready: Future, backup_id: str,
                     show_progress: bool, mark):
    try:
        sent = store.upload_stream(target, payload, manifest_ready, backup_id, show_progress)
        return sent, target.stat(f"{backup_id}/{mf.PAYLOAD_NAME}")
    finally:
        mark(target.name)


def _store_copy(settings: Settings, target: Target, backup: BackupSet, folder: Path,
                show_progress: bool) -> int:
    """Uploads one copy and records it; returns bytes sent, raises BackupError (recorded) on failure."""
    copy = _begin_copy(backup, target)
    try:
        sent, info = _upload(target, folder, backup.backup_id, show_progress)
    except BackupError as e:
        _fail_copy(settings, copy, target, e)
        raise
    _complete_copy(copy, sent, info)
    return sent


def _begin_copy(backup: BackupSet, target: Target) -> BackupCopy:
    copy, _ = BackupCopy.get_or_create(backup=backup, target=target.name)
    copy.state = "uploading"
    copy.save()
    return copy


def _upload(target: Target, folder: Path, backup_id: str, show_progress: bool):
    sent = store.upload(target, folder, backup_id, show_progress)
    return sent, target.stat(f"{backup_id}/{mf.PAYLOAD_NAME}")


def _fail_copy(settings: Settings, copy: BackupCopy, target: Target, error: BackupError) -> None:
    copy.state, copy.last_error = "failed", error.message
    copy.attempts += 1
    copy.next_attempt_at = utcnow() + _backoff(settings, copy.attempts)
    copy.save()
    target.close()


def _complete_copy(copy: BackupCopy, sent: int, info) -> None:
    copy.state, copy.bytes, copy.stored_at, copy.last_error = "complete", sent, utcnow(), None
    copy.next_attempt_at = None
    copy.locked_until = info.locked_until if info else None
    copy.save()


def _backoff(settings: Settings, attempts: int) -> timedelta:
    b = settings.backup
    return timedelta(seconds=min(b.retry_base_seconds * 2 ** max(attempts - 1, 0), b.retry_max_seconds))


def catch_up(settings: Settings, targets: list[Target], key: keys.BackupKey, report: RunReport,
             show_progress: bool = True) -> None:
    """Copies backups that targets missed, from a target that has them; due copies only."""
    by_name = {t.name: t for t in targets}
    due = (BackupCopy.select(BackupCopy, BackupSet).join(BackupSet)
           .where(BackupCopy.state == "failed",
                  (BackupCopy.next_attempt_at.is_null()) | (BackupCopy.next_attempt_at <= utcnow()))
           .order_by(BackupSet.created_at.desc()))
    unreachable: set[str] = set(report.failed)  # failed a moment ago: do not wait on it again
    for copy in list(due):
        target = by_name.get(copy.target)
        if target is None or copy.target in unreachable:
            continue
        source = _source_for(copy.backup, by_name, exclude=copy.target)
        if source is None:
            continue
        with working_folder(settings, f"catch-up-{copy.backup.backup_id}") as folder:
            try:
                store.fetch(source, copy.backup.backup_id, folder, key, show_progress)
            except BackupError as e:
                # The source copy is unreadable: leave this copy due and try another time.
                copy.last_error = f"catch-up from {source.name} failed: {e.message}"
                copy.save()
                continue
            try:
                report.bytes += _store_copy(settings, target, copy.backup, folder, show_progress)
                report.caught_up.append((copy.backup.backup_id, target.name))
            except BackupError:
                unreachable.add(target.name)


def _source_for(backup: BackupSet, by_name: dict[str, Target], exclude: str) -> Target | None:
    copies = (BackupCopy.select().where(BackupCopy.backup == backup, BackupCopy.state == "complete",
                                        BackupCopy.target != exclude)
              .order_by((BackupCopy.verify_state == "ok").desc(), BackupCopy.target))
    for copy in copies:
        if copy.target in by_name:
            return by_name[copy.target]
    return None
