"""The backup package's scratch folder (`backup.staging_dir`): snapshots being made, copies being
checked, replicas being restored or sealed. Its own module so that run, verify, restore and
replication share it without importing one another.

Several jobs use it at once (a backup run, a verify, a replica restore, the replica shipper, in
one process or several), so each job works in a folder of its own, which it owns for as long as
it uses it (`working_folder`): named by the job and the process (`<job>-<pid>-<random>`), holding a
file `.owner` with the owner's pid and start time on which the owner holds an flock until it
removes the folder. The kernel releases the flock when its process dies, however it dies (kill -9
too), so `remove_abandoned` (called by `backup run` at its start) removes exactly the folders whose
owner is gone and never one a running job is using, in this process or another.
"""
from __future__ import annotations

import contextlib
import errno
import fcntl
import logging
import os
import secrets
import shutil
import time
from collections.abc import Iterator
from pathlib import Path

from appliance.config import Settings
from appliance.processes import ProcessRecord

log = logging.getLogger(__name__)

OWNER_FILE = ".owner"
# A folder without an owner file was made by an older version of the appliance, or its owner died
# in the instant between making it and locking it (or is in that instant now): removed once it is
# this old.
UNOWNED_GRACE_SECONDS = 300


def staging_dir(settings: Settings) -> Path:
    return settings.path(settings.backup.staging_dir)


class WorkingFolder:
    """A folder in the staging directory owned by this process until `release()`."""

    def __init__(self, path: Path, lock_fd: int):
        self.path = path
        self._lock_fd: int | None = lock_fd

    def release(self) -> None:
        """Removes the folder, then lets go of it (in that order: a cleaner never sees it unowned)."""
        if self._lock_fd is None:
            return
        shutil.rmtree(self.path, ignore_errors=True)
        os.close(self._lock_fd)
        self._lock_fd = None


def take_folder(settings: Settings, job: str) -> WorkingFolder:
    """A new folder for `job` in the staging directory, owned by this process until released.

    The owner file is written and locked under a temporary name, then renamed into place: a
    cleaner that finds `.owner` always finds it locked by a live owner, or unlocked by a dead one."""
    staging = staging_dir(settings)
    staging.mkdir(parents=True, exist_ok=True)
    path = staging / f"{job}-{os.getpid()}-{secrets.token_hex(3)}"
    path.mkdir()
    pending = path / f"{OWNER_FILE}.new"
    fd = os.open(pending, os.O_CREAT | os.O_RDWR | os.O_CLOEXEC, 0o600)
    try:
        with contextlib.suppress(OSError):  # no flock on this file system: the record alone tells
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        me = ProcessRecord.of(os.getpid())
        os.write(fd, f"{me.pid} {me.started} {job}\n".encode())
        os.replace(pending, path / OWNER_FILE)
    except BaseException:
        os.close(fd)
        shutil.rmtree(path, ignore_errors=True)
        raise
    return WorkingFolder(path, fd)


@contextlib.contextmanager
def working_folder(settings: Settings, job: str) -> Iterator[Path]:
    """`with working_folder(settings, "verify-…") as folder:` a folder of this job's own, removed at the end."""
    folder = take_folder(settings, job)
    try:
        yield folder.path
    finally:
        folder.release()


def remove_abandoned(settings: Settings) -> list[Path]:
    """Removes the folders in the staging directory whose owner is gone (a job killed, a box that
    lost power); returns them. Folders of running jobs, of any process, are left alone."""
    staging = staging_dir(settings)
    removed = []
    try:
        entries = list(os.scandir(staging))
    except FileNotFoundError:
        return []
    for entry in entries:
        if not entry.is_dir(follow_symlinks=False):
            continue
        folder = Path(entry.path)
        if _remove_if_abandoned(folder):
            log.info("removed %s, left by a job that is gone", folder)
            removed.append(folder)
    return removed


def _remove_if_abandoned(folder: Path) -> bool:
    try:
        fd = os.open(folder / OWNER_FILE, os.O_RDONLY | os.O_CLOEXEC)
    except FileNotFoundError:
        if _age(folder) < UNOWNED_GRACE_SECONDS:
            return False
        shutil.rmtree(folder, ignore_errors=True)
        return True
    except OSError:
        return False  # gone meanwhile (its owner removed it), or not ours to read
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return False  # its owner is using it
        except OSError as e:
            if e.errno not in (errno.ENOLCK, errno.EOPNOTSUPP, errno.EINVAL):
                return False
            # no flock on this file system: go by the process the owner file names
            record = _owner(fd)
            if record is None or record.running():
                return False
        # The lock was free: its owner is gone (the kernel lets go of a dead process's locks).
        shutil.rmtree(folder, ignore_errors=True)
        return True
    finally:
        os.close(fd)


def _owner(fd: int) -> ProcessRecord | None:
    try:
        pid, started = os.pread(fd, 4096, 0).decode().split()[:2]
        return ProcessRecord(int(pid), float(started))
    except (OSError, ValueError):
        return None


def _age(folder: Path) -> float:
    try:
        return time.time() - folder.stat().st_mtime
    except OSError:
        return 0.0
