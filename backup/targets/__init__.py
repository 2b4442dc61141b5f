"""Targets: where copies go. One small protocol, one module per kind.

Keys are `<backup_id>/manifest.json` and `<backup_id>/payload.zst.aes` relative to the target's
root (its folder, or its bucket prefix). A backup is complete on a target only when its manifest is
there, and the manifest is always written last: an interrupted upload never lists as complete.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import BinaryIO, Callable, Protocol

from appliance.config import Settings

from ..errors import BackupError
from ..manifest import MANIFEST_NAME

ProgressFn = Callable[[int], None]


@dataclass(frozen=True)
class ObjectInfo:
    key: str
    size: int
    modified: datetime | None = None
    locked_until: datetime | None = None  # naive UTC; S3 Object Lock retention


class Target(Protocol):
    kind: str
    name: str
    medium: str
    offsite: bool

    def put(self, source: Path, key: str, progress: ProgressFn | None = None) -> None:
        """Stores `source` under `key`, atomically: readers see all of it or nothing."""

    def put_stream(self, source: BinaryIO, key: str, progress: ProgressFn | None = None) -> None:
        """Stores what `source.read(n)` yields until EOF under `key`, atomically; an exception
        raised by `source` aborts the upload and nothing is stored under `key`."""

    def get(self, key: str, dest: Path, progress: ProgressFn | None = None) -> None:
        """Downloads `key` into `dest`; MissingObject when it is not there (and no `dest`)."""

    def get_stream(self, key: str, sink: BinaryIO, progress: ProgressFn | None = None) -> None:
        """Writes `key`'s bytes to `sink.write` in order, as they arrive (a restore decodes while it
        downloads); MissingObject when it is not there; an exception raised by `sink` stops it."""

    def list(self) -> list[str]:
        """Every key under the target's root."""

    def delete(self, key: str) -> None:
        """Removes `key` (every version of it); ObjectLocked while under retention."""

    def stat(self, key: str) -> ObjectInfo | None:
        """Size, time and retention of `key`, or None when it is not there."""

    def close(self) -> None:
        ...


def build(target_settings, settings: Settings) -> Target:
    kind = target_settings.kind
    if kind == "local":
        from .local import LocalTarget
        return LocalTarget(target_settings, settings)
    if kind == "sftp":
        from .sftp import SftpTarget
        return SftpTarget(target_settings, settings)
    if kind == "s3":
        from .s3 import S3Target
        return S3Target(target_settings, settings)
    raise ValueError(f"unknown target kind {kind!r}")


def open_targets(settings: Settings, only: str | None = None) -> list[Target]:
    """Every configured target (none connects before its first operation)."""
    chosen = [t for t in settings.backup.targets if only is None or t.name == only]
    if only is not None and not chosen:
        names = ", ".join(t.name for t in settings.backup.targets) or "none configured"
        raise BackupError(f"No backup target named {only!r} (targets: {names}).")
    return [build(t, settings) for t in chosen]


BACKUP_FOLDER = re.compile(r"^\d{8}T\d{6}Z-[0-9a-f]{4}$")  # manifest.new_backup_id


def backups_on(keys: list[str]) -> tuple[list[str], list[str]]:
    """(complete backup ids, incomplete ones) among a target's keys, oldest first. Only folders named
    like a backup id count: others beside them (the runbook export) are not backups, nor leftovers."""
    folders: dict[str, set[str]] = {}
    for key in keys:
        folder, _, name = key.partition("/")
        if name and "/" not in name and BACKUP_FOLDER.match(folder):
            folders.setdefault(folder, set()).add(name)
    complete = sorted(f for f, names in folders.items() if MANIFEST_NAME in names)
    incomplete = sorted(f for f, names in folders.items() if MANIFEST_NAME not in names)
    return complete, incomplete
