"""A folder (a second disk, a USB drive): files written to a temporary name, fsynced, then renamed."""
from __future__ import annotations

import os
from datetime import datetime, timezone
from pathlib import Path
from typing import BinaryIO, Iterator

from appliance.config import Settings

from .. import gradual_delete
from ..errors import BackupError, MissingObject, TargetUnavailable
from . import ObjectInfo, ProgressFn

COPY_BLOCK = 1024 * 1024
# Where a large file waits while it is freed step by step (backup/gradual_delete.py): hidden, so
# list() never shows it and no key reaches it.
DELETING = ".deleting"


# A download has two sides; its errors say which one is missing (every kind of target uses these).

def missing_remote(target: str, key: str) -> str:
    """The target does not hold `key`: said so that nobody takes it for a missing file on this box."""
    return f"Target {target} has no {key} (the file is missing on the target, not on this box)."


def local_write_failed(target: str, key: str, dest: Path, error: OSError) -> BackupError:
    """The download's own side failed: the file (or its folder) on this box, not the target's."""
    reason = (error.strerror or str(error)).rstrip(".")
    where = (f"the local folder {dest.parent} is missing" if isinstance(error, FileNotFoundError)
             else f"the local file {dest} cannot be written: {reason}")
    return BackupError(f"Target {target}: cannot download {key}: {where} (on this box; the target's "
                       "file is not the problem).")


def download_to(target, key: str, dest: Path, progress: ProgressFn | None = None) -> None:
    """`get` of every target over its `get_stream`: `dest` is opened here, so a missing local folder
    is this box's error and says so; a failed download leaves no `dest`."""
    try:
        out = open(dest, "wb")
    except OSError as e:
        raise local_write_failed(target.name, key, dest, e) from None
    try:
        with out:
            target.get_stream(key, out, progress)
    except BaseException:
        dest.unlink(missing_ok=True)
        raise


class LocalTarget:
    kind = "local"

    def __init__(self, target_settings, settings: Settings):
        self.name = target_settings.name
        self.medium = target_settings.medium
        self.offsite = target_settings.offsite
        self.root = settings.path(target_settings.path)
        # The pace of a gradual delete (keyword arguments of gradual_delete.remove: step_bytes, pause,
        # at_once_below, sleep); its defaults unless a test or the bench sets it.
        self.delete_pace: dict = {}

    def _path(self, key: str) -> Path:
        return self.root / key

    def _fail(self, action: str, error: OSError) -> TargetUnavailable:
        return TargetUnavailable(f"Target {self.name}: cannot {action}: {error.strerror or error}.")

    def put(self, source: Path, key: str, progress: ProgressFn | None = None) -> None:
        try:
            src = open(source, "rb")
        except OSError as e:
            raise self._fail(f"read {source}", e) from None
        with src:
            self.put_stream(src, key, progress)

    def put_stream(self, source: BinaryIO, key: str, progress: ProgressFn | None = None) -> None:
        dest = self._path(key)
        partial = dest.with_name(f".{dest.name}.partial")
        try:
            dest.parent.mkdir(parents=True, exist_ok=True)
            with open(partial, "wb") as out:
                while block := source.read(COPY_BLOCK):
                    out.write(block)
                    if progress:
                        progress(len(block))
                out.flush()
                os.fsync(out.fileno())
            os.replace(partial, dest)
            fsync_dir(dest.parent)
        except OSError as e:
            partial.unlink(missing_ok=True)
            raise self._fail(f"write {key}", e) from None
        except BaseException:
            partial.unlink(missing_ok=True)
            raise

    def get(self, key: str, dest: Path, progress: ProgressFn | None = None) -> None:
        download_to(self, key, dest, progress)

    def get_stream(self, key: str, sink: BinaryIO, progress: ProgressFn | None = None) -> None:
        """MissingObject when the target's file is missing."""
        try:
            src = open(self._path(key), "rb")
        except FileNotFoundError:
            raise MissingObject(missing_remote(self.name, key)) from None
        except OSError as e:
            raise self._fail(f"read {key}", e) from None
        with src:
            try:
                while block := src.read(COPY_BLOCK):
                    sink.write(block)
                    if progress:
                        progress(len(block))
            except OSError as e:
                raise self._fail(f"read {key}", e) from None

    def list(self) -> list[str]:
        """Every file below the root at any depth (a key put is a key listed, or prune never sees
        it); hidden folders are not the target's."""
        if not self.root.exists():
            return []
        try:
            return sorted(_files_below(self.root))
        except OSError as e:
            raise self._fail("list backups", e) from None

    def delete(self, key: str) -> None:
        """A large file is freed a step at a time (an unlink at once stalls the order writer's fsyncs
        on ext4 with `discard`), unless someone has it open: see backup/gradual_delete.py."""
        path = self._path(key)
        deleting = self.root / DELETING
        try:
            gradual_delete.remove(path, deleting, **self.delete_pace)
            for leftover in path.parent.glob(".*.partial"):
                gradual_delete.remove(leftover, deleting, **self.delete_pace)
            # An emptied backup folder goes with its last key; the root stays (it may be a mount point).
            if path.parent != self.root and path.parent.exists() and not any(path.parent.iterdir()):
                path.parent.rmdir()
        except OSError as e:
            raise self._fail(f"delete {key}", e) from None

    def stat(self, key: str) -> ObjectInfo | None:
        try:
            st = self._path(key).stat()
        except FileNotFoundError:
            return None
        modified = datetime.fromtimestamp(st.st_mtime, timezone.utc).replace(tzinfo=None)
        return ObjectInfo(key, st.st_size, modified)

    def close(self) -> None:
        pass


def _files_below(folder: Path, prefix: str = "") -> Iterator[str]:
    with os.scandir(folder) as entries:
        for entry in entries:
            if entry.is_dir(follow_symlinks=False):
                if not entry.name.startswith("."):
                    yield from _files_below(Path(entry.path), f"{prefix}{entry.name}/")
            elif entry.is_file():
                yield prefix + entry.name


def fsync_dir(path: Path) -> None:
    # The rename is durable only once the directory entry is on disk.
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)

