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

A verify builds a whole restore only to check it and throw it away, and a backup run its payload
only to hand it to the targets: written to the disk the orders are committed on, their tens to
hundreds of MB queued ahead of the order writer's WAL fsyncs (order p99 of 60-207 ms in the seconds
a replica verify unsealed and restored a 100 MB database or a backup started, issue 17's soak). So
they ask for their folder in memory (`in_memory=` the bytes they will write): under
`backup.memory_scratch_dir` (a tmpfs, /dev/shm by default) when that is a tmpfs with room for them
and they are at most a quarter of the memory available; else in the staging directory as before.
The same ownership rules hold there.
"""
from __future__ import annotations

import contextlib
import errno
import fcntl
import hashlib
import logging
import os
import secrets
import shutil
import time
from collections.abc import Iterator
from pathlib import Path

import psutil

from appliance.config import Settings
from appliance.processes import ProcessRecord

log = logging.getLogger(__name__)

OWNER_FILE = ".owner"
# A folder without an owner file was made by an older version of the appliance, or its owner died
# in the instant between making it and locking it (or is in that instant now): removed once it is
# this old.
UNOWNED_GRACE_SECONDS = 300


# Scratch goes to memory only while it is at most this share of the memory available.
MEMORY_SCRATCH_SHARE = 0.25
TMPFS = ("tmpfs", "ramfs")


def staging_dir(settings: Settings) -> Path:
    return settings.path(settings.backup.staging_dir)


def memory_scratch_dir(settings: Settings) -> Path | None:
    """This box's folder on the memory scratch file system (None: turned off). Named after the box's
    home: several boxes of one machine (tests, a rig) keep out of each other's way."""
    if not settings.backup.scratch_in_memory:
        return None
    box = hashlib.sha256(str(settings.home.resolve()).encode()).hexdigest()[:12]
    return Path(settings.backup.memory_scratch_dir) / f"appliance-{box}"


def sqlite_bytes(path: Path) -> int:
    """A SQLite database's size on disk, its WAL included: what a copy or a restore of it may take."""
    return sum(p.stat().st_size for p in (path, Path(f"{path}-wal")) if p.exists())


def scratch_dirs(settings: Settings) -> list[Path]:
    """Every place this box's working folders may be."""
    return [staging_dir(settings)] + [p for p in [memory_scratch_dir(settings)] if p is not None]


def _room_in_memory(settings: Settings, needed_bytes: int) -> Path | None:
    """The memory scratch folder if it is on a tmpfs that holds `needed_bytes`, and they are at most
    MEMORY_SCRATCH_SHARE of the memory available now; else None."""
    folder = memory_scratch_dir(settings)
    if folder is None:
        return None
    base = folder.parent
    try:
        st = os.statvfs(base)
    except OSError:
        return None
    if _file_system_type(base) not in TMPFS:
        return None
    free = st.f_bavail * st.f_frsize
    if needed_bytes > min(free, psutil.virtual_memory().available * MEMORY_SCRATCH_SHARE):
        return None
    return folder


def _file_system_type(path: Path) -> str:
    """The type of the file system `path` is on (its longest mount point)."""
    resolved, best = str(path.resolve()), ("", "")
    for part in psutil.disk_partitions(all=True):
        mount = part.mountpoint.rstrip("/") or "/"
        if (resolved == mount or resolved.startswith(mount.rstrip("/") + "/")) and len(mount) >= len(best[0]):
            best = (mount, part.fstype)
    return best[1]


class WorkingFolder:
    """A folder in the staging directory owned by this process until `release()`."""

    def __init__(self, path: Path, lock_fd: int, in_memory: bool = False):
        self.path, self.in_memory = path, in_memory
        self._lock_fd: int | None = lock_fd

    def release(self) -> None:
        """Removes the folder, then lets go of it (in that order: a cleaner never sees it unowned).
        The box's folder in memory goes too once it is empty (the next job makes it again)."""
        if self._lock_fd is None:
            return
        shutil.rmtree(self.path, ignore_errors=True)
        os.close(self._lock_fd)
        self._lock_fd = None
        if self.in_memory:
            with contextlib.suppress(OSError):  # another job's folder is in it
                self.path.parent.rmdir()


def take_folder(settings: Settings, job: str, in_memory: int | None = None) -> WorkingFolder:
    """A new folder for `job` in the staging directory, owned by this process until released; with
    `in_memory` (the bytes the job will write), in the memory scratch folder if it has the room.

    The owner file is written and locked under a temporary name, then renamed into place: a
    cleaner that finds `.owner` always finds it locked by a live owner, or unlocked by a dead one."""
    memory = _room_in_memory(settings, in_memory) if in_memory is not None else None
    staging = memory or staging_dir(settings)
    for attempt in range(5):
        path = staging / f"{job}-{os.getpid()}-{secrets.token_hex(3)}"
        try:
            staging.mkdir(mode=0o700, parents=True, exist_ok=True)
            path.mkdir()
            break
        except (FileNotFoundError, FileExistsError):  # the box's folder in memory, removed meanwhile by
            if attempt == 4:                          # a job that ended (mkdir's exist_ok checks again)
                raise
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
    return WorkingFolder(path, fd, in_memory=memory is not None)


@contextlib.contextmanager
def working_folder(settings: Settings, job: str, in_memory: int | None = None) -> Iterator[Path]:
    """`with working_folder(settings, "verify-…") as folder:` a folder of this job's own, removed at
    the end; `in_memory=` the bytes it will write, for a folder in memory when there is room."""
    folder = take_folder(settings, job, in_memory)
    try:
        yield folder.path
    finally:
        folder.release()


def remove_abandoned(settings: Settings) -> list[Path]:
    """Removes the folders in the staging directory (and the memory scratch) whose owner is gone (a
    job killed, a box that lost power); returns them. Folders of running jobs, of any process, are
    left alone."""
    removed = []
    entries = []
    for staging in scratch_dirs(settings):
        try:
            entries += list(os.scandir(staging))
        except FileNotFoundError:
            pass
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
