"""Deleting a large file so that the file system frees its blocks a step at a time (issue 17).

Unlinking a 300 MB file at once stalls a small writer's fsync 34-60 ms on ext4 mounted with
`discard` (the freed blocks are trimmed when the journal commits, and a commit is what an fsync waits
for); truncating it 16 MB every 50 ms first keeps the worst fsync at 3-5 ms
(bench/delete_stall_bench.py). The order writer commits with one fsync per order, so a prune that
unlinks old copies at once is a slow second of orders.

Truncating is safe only when nobody else has the file open: a restore or a verify reading that very
copy would read a shrinking file, where an unlink leaves their open copy whole. So a file is first
renamed into a hidden folder of its own (nobody can open it by its name any more: an open by name is
"missing", as after an unlink), then we take a write lease on it, which the kernel grants only when
no other open file description of the file exists. Refused, not supported (NFS, CIFS: a local target
may be a mounted NAS), a symlink, or a file with other hard links: it is unlinked at once, as before.

Lease breaks: once the lease is granted, another open of the file (someone walking the hidden folder:
a copy of the whole disk, a second box pruning the same folder) blocks in the kernel and the kernel
sends the lease holder a signal, SIGIO by default, whose default action would kill a prune. We want
no signal at all: the lease's owner is cleared right after it is granted (F_SETOWN 0: the kernel then
sends nothing), and for the microseconds before that the signal is set to SIGURG, ignored by default.
Instead, every step asks the kernel whether a break is pending (F_GETLEASE no longer says F_WRLCK);
if so the file is released at once (the opener waits one step at most, never the 45 s lease-break
time) and unlinked: it was being deleted, whoever opens it now gets what is left of it.

A crash in the middle leaves the file in the hidden folder; the next `remove` with the same folder
frees leftovers there first (a leftover that another delete holds a lease on is skipped).
"""
from __future__ import annotations

import fcntl
import os
import signal
import stat
import time
import uuid
from pathlib import Path
from typing import Callable

MIB = 1024 * 1024
STEP_BYTES = 16 * MIB
PAUSE = 0.05
AT_ONCE_BELOW = 32 * MIB


def remove(path: Path, folder: Path, *, step_bytes: int = STEP_BYTES, pause: float = PAUSE,
           at_once_below: int = AT_ONCE_BELOW, sleep: Callable[[float], None] = time.sleep) -> None:
    """Deletes `path` (quietly nothing when it is missing); a regular file of `at_once_below` bytes or
    more is renamed into `folder` (a hidden folder on the same file system, made when needed) and
    truncated by `step_bytes` every `pause` seconds before it is unlinked, when nobody else has it
    open. Leftovers in `folder` from an interrupted remove go first. OSError when the file stays."""
    parked = _park(path, folder, at_once_below)
    if parked is None:
        _unlink(path)
    _sweep(folder, step_bytes, pause, sleep)
    if parked is not None:
        _free(parked, step_bytes, pause, sleep)


def _park(path: Path, folder: Path, at_once_below: int) -> Path | None:
    """`path` renamed into `folder` when it is worth deleting gradually, else None (it is where it was)."""
    try:
        st = os.lstat(path)
    except FileNotFoundError:
        return None
    if not stat.S_ISREG(st.st_mode) or st.st_size < at_once_below or st.st_nlink != 1:
        # Small; a symlink (truncating would empty what it points to); or hard-linked elsewhere
        # (truncating empties the other names too, and an unlink frees nothing anyway).
        return None
    parked = folder / f"{uuid.uuid4().hex}-{path.name}"
    try:
        folder.mkdir(exist_ok=True)
        os.rename(path, parked)
    except OSError:
        # A full disk (the folder needs a block), no permission on the folder, another file system
        # below the root (EXDEV), a file named like the folder, the file gone meanwhile: the rename
        # did nothing, so the caller unlinks the file at once as before (and reports that unlink's
        # error). A prune on a full disk must still free space.
        return None
    return parked


def _unlink(path: Path) -> None:
    try:
        os.unlink(path)
    except FileNotFoundError:
        pass


def _sweep(folder: Path, step_bytes: int, pause: float, sleep: Callable[[float], None]) -> None:
    """Frees what an interrupted remove left in `folder`. Only a real folder is swept (never what a
    symlink named like it points to), and in it only files: nothing else is ever put there."""
    try:
        if not stat.S_ISDIR(os.lstat(folder).st_mode):
            return
        with os.scandir(folder) as entries:
            leftovers = [Path(e.path) for e in entries if not e.is_dir(follow_symlinks=False)]
    except FileNotFoundError:
        return
    for leftover in leftovers:
        _free(leftover, step_bytes, pause, sleep, skip_if_leased=True)


def _free(parked: Path, step_bytes: int, pause: float, sleep: Callable[[float], None],
          skip_if_leased: bool = False) -> None:
    """Truncates `parked` step by step under a write lease and unlinks it; unlinks it at once when
    the lease cannot be had. A file another remove holds a lease on is theirs when `skip_if_leased`."""
    try:
        # O_NONBLOCK: an open of a file someone holds a lease on fails at once instead of waiting
        # for their lease to go (it still tells them someone wants the file).
        fd = os.open(parked, os.O_WRONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC)
    except FileNotFoundError:
        return
    except BlockingIOError:
        if not skip_if_leased:
            _unlink(parked)
        return
    except OSError:  # a symlink (ELOOP), no write permission: the unlink alone frees the blocks
        _unlink(parked)
        return
    try:
        if _lease(fd):
            _truncate_in_steps(fd, step_bytes, pause, sleep)
            fcntl.fcntl(fd, fcntl.F_SETLEASE, fcntl.F_UNLCK)
    except OSError:
        pass  # freeing step by step is a nicety: the unlink below is the delete, and says its error
    finally:
        os.close(fd)  # also lets go of the lease if the release above was not reached
    _unlink(parked)


def _lease(fd: int) -> bool:
    """A write lease on `fd`'s file, with no signal sent when it breaks: True when granted (nobody
    else has the file open and the file system supports leases)."""
    fcntl.fcntl(fd, fcntl.F_SETSIG, signal.SIGURG)  # ignored by default, for the instant below
    try:
        fcntl.fcntl(fd, fcntl.F_SETLEASE, fcntl.F_WRLCK)
    except OSError:
        # EAGAIN/EBUSY: someone has it open (they keep their copy: it is freed at their close);
        # EINVAL/ENOLCK: no leases on this file system (NFS, CIFS, fs.leases-enable = 0);
        # EACCES: another owner's file without CAP_LEASE. Each way an unlink at once, as before.
        return False
    fcntl.fcntl(fd, fcntl.F_SETOWN, 0)  # no owner: a break sends no signal; F_GETLEASE tells it
    st = os.fstat(fd)
    if st.st_nlink != 1:  # linked again since it was parked: truncating would empty the other name
        fcntl.fcntl(fd, fcntl.F_SETLEASE, fcntl.F_UNLCK)
        return False
    return True


def _truncate_in_steps(fd: int, step_bytes: int, pause: float, sleep: Callable[[float], None]) -> None:
    size = os.fstat(fd).st_size
    while size > 0:
        if fcntl.fcntl(fd, fcntl.F_GETLEASE) != fcntl.F_WRLCK:
            return  # someone is opening it: let go now (the rest goes with the unlink)
        size = max(0, size - step_bytes)
        os.ftruncate(fd, size)
        sleep(pause)
