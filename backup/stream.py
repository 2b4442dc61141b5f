"""One producer, several uploads reading its output while it is still being written.

`GrowingFile` is the payload in the staging folder: the producer appends to it (page cache, no
fsync: it is scratch) and each target's upload reads it through its own `TailReader`, which waits
for more bytes until the producer finishes. So compression + encryption and the uploads overlap,
the payload is written once and never re-read for hashing, a slow target never holds the producer
back (it just reads further behind), and memory stays flat whatever the size: the bytes in flight
live in the page cache, not in the process.

A reader sees the end of the file only after `finish()`: a producer that fails calls `abort()`,
and every reader then raises instead of returning EOF, so no target ever commits a payload that
was not completely made.

The same works the other way round for a restore: a download is the producer and the decoding the
reader (`store.payload_stream`); a reader that gives up calls `cancel()` and the producer's next
write raises, so the download stops. A restore's download goes through a `MemoryPipe` rather than a
file: its one reader consumes it as it comes, and writing the payload to the page cache and reading
it back cost the download's thread more than the download itself (bench drill, 1 GB over SFTP:
2.4 s of writes on a busy machine); the pipe holds at most PIPE_BYTES, so memory stays flat and a
slow decoder holds the download back instead.
"""
from __future__ import annotations

import os
import queue
import threading
from collections import deque
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator, TypeVar

from .errors import BackupError


class ProductionFailed(BackupError):
    """The payload being streamed was not completed (the snapshot or compression failed)."""


Item = TypeVar("Item")
_END = object()
# What a restore's download may get ahead of its decoding: a few S3 parts (16 MiB each) or SFTP reads.
PIPE_BYTES = 64 * 1024 * 1024


def read_ahead(items: Iterator[Item], depth: int = 4, name: str = "read-ahead") -> Iterator[Item]:
    """What `items` yields, produced on another thread up to `depth` items ahead. A restore reads,
    hashes and decrypts the next chunks there while this thread decompresses and writes the last
    ones (zstd, hashlib and os.write release the GIL): two cores on one restore's critical path.
    An error raised by `items` is raised here after the items before it; a consumer that stops
    early stops the producer, and waits for it, so nothing reads a file the caller then closes."""
    handoff: queue.Queue = queue.Queue(maxsize=depth)
    stopped = threading.Event()

    def hand_over(entry) -> bool:
        while not stopped.is_set():
            try:
                handoff.put(entry, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def produce() -> None:
        try:
            for item in items:
                if not hand_over(item):
                    return
            hand_over(_END)
        except BaseException as error:  # noqa: BLE001 - raised on the consuming thread
            hand_over(error)

    thread = threading.Thread(target=produce, name=name, daemon=True)
    thread.start()
    try:
        while (entry := handoff.get()) is not _END:
            if isinstance(entry, BaseException):
                raise entry
            yield entry
    finally:
        stopped.set()
        thread.join()


@contextmanager
def downloading(target, key: str, path: Path | None = None, progress=None) -> Iterator["TailReader | MemoryPipe"]:
    """The object `key` of `target` while it downloads into `path` (a scratch file), or without one
    into a MemoryPipe: the body reads it as the bytes arrive instead of after the whole download (a
    restore's time is on the RTO). A failed download raises its own error (MissingObject,
    TargetUnavailable) in the body; a body that fails or returns early stops the download."""
    growing = GrowingFile(path) if path is not None else MemoryPipe(PIPE_BYTES)
    failed: list[BaseException] = []

    def download() -> None:
        try:
            target.get_stream(key, growing, progress)
            growing.finish()
        except BaseException as e:  # noqa: BLE001 - handed to the reading thread below
            failed.append(e)
            growing.abort(str(e))

    thread = threading.Thread(target=download, name=f"download-{getattr(target, 'name', 'target')}", daemon=True)
    thread.start()
    reader = growing.reader()
    try:
        yield reader
    except ProductionFailed:
        thread.join()
        if failed:
            raise failed[0] from None
        raise
    finally:
        growing.cancel("the reader stopped reading")
        thread.join()
        reader.close()


class GrowingFile:
    def __init__(self, path: Path):
        self.path = path
        self._fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        self._size = 0
        self._done = False
        self._error: str | None = None
        self._changed = threading.Condition()

    # producer side -------------------------------------------------------------------------

    def write(self, data) -> int:
        if self._error is not None:  # cancelled by the reader (or aborted): stop producing
            raise ProductionFailed(f"Stopped: {self._error}")
        view = memoryview(data)
        while view:
            written = os.write(self._fd, view)
            view = view[written:]
        with self._changed:
            self._size += len(data)
            self._changed.notify_all()
        return len(data)

    def flush(self) -> None:
        pass

    def finish(self) -> None:
        """The payload is complete: readers get EOF at its end."""
        self._close_fd()
        with self._changed:
            self._done = True
            self._changed.notify_all()

    def abort(self, reason: str) -> None:
        """The payload will never be complete: every reader raises ProductionFailed."""
        self._close_fd()
        with self._changed:
            self._error = reason
            self._changed.notify_all()

    def cancel(self, reason: str) -> None:
        """Called by a reader that gives up: the producer's next write raises. Unlike `abort`, the
        descriptor stays open for the producer's thread to close (closing it under a write in
        flight could send that write to whatever file reuses the number)."""
        with self._changed:
            if not self._done and self._error is None:
                self._error = reason
            self._changed.notify_all()

    def _close_fd(self) -> None:
        if self._fd >= 0:
            os.close(self._fd)
            self._fd = -1

    # reader side ---------------------------------------------------------------------------

    def reader(self) -> "TailReader":
        return TailReader(self)

    def _wait_for(self, end: int | None) -> tuple[int, bool]:
        """Blocks until the file reaches `end` (None: until it is final) or is final; (size, final)."""
        with self._changed:
            while not self._done and self._error is None and (end is None or self._size < end):
                self._changed.wait()
            if self._error is not None:
                raise ProductionFailed(f"The backup payload was not completed: {self._error}")
            return self._size, self._done


class TailReader:
    """A read-only, non-seekable file object over a GrowingFile: `read(n)` returns exactly n bytes
    (fewer only at the end), waiting for the producer as needed; like a plain file at EOF."""

    def __init__(self, source: GrowingFile):
        self._source = source
        self.path = source.path
        self._fd = os.open(source.path, os.O_RDONLY)
        self._offset = 0

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return False

    def read(self, n: int = -1) -> bytes:
        # One pread once all n bytes are there: no pieces to join, so a 16 MiB S3 part is held once.
        end = None if n is None or n < 0 else self._offset + n
        size, _ = self._source._wait_for(end)
        take = size - self._offset if end is None else min(n, size - self._offset)
        if take <= 0:
            return b""
        data = os.pread(self._fd, take, self._offset)
        if len(data) != take:
            raise ProductionFailed("The backup payload shrank while it was being read.")
        self._offset += take
        return data

    def parts(self, part_size: int) -> Iterator[tuple[int, int]]:
        """(offset, length) of each `part_size` range as soon as it is complete, then the rest once
        the file is final (a shorter last part; none when the size is a multiple, unless empty)."""
        offset = 0
        while True:
            size, final = self._source._wait_for(offset + part_size)
            if size >= offset + part_size:
                yield offset, part_size
                offset += part_size
                continue
            if size > offset or offset == 0:
                yield offset, size - offset
            return

    def window(self, offset: int, length: int) -> "FileWindow":
        """A seekable file object over bytes already written (e.g. one S3 part): read from the page
        cache on demand, so a part costs no memory and can be re-read for signing or a retry."""
        return FileWindow(self._fd, offset, length)

    def close(self) -> None:
        if self._fd >= 0:
            os.close(self._fd)
            self._fd = -1

    def __enter__(self) -> "TailReader":
        return self

    def __exit__(self, *exc) -> None:
        self.close()


class FileWindow:
    """Read-only, seekable view of `length` bytes at `start` of an open file (pread: thread-safe)."""

    def __init__(self, fd: int, start: int, length: int):
        self._fd, self._start, self._length, self._pos = fd, start, length, 0

    def __len__(self) -> int:
        return self._length

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def tell(self) -> int:
        return self._pos

    def seek(self, pos: int, whence: int = os.SEEK_SET) -> int:
        base = {os.SEEK_SET: 0, os.SEEK_CUR: self._pos, os.SEEK_END: self._length}[whence]
        self._pos = min(max(base + pos, 0), self._length)
        return self._pos

    def read(self, n: int = -1) -> bytes:
        left = self._length - self._pos
        take = left if n is None or n < 0 else min(n, left)
        if take <= 0:
            return b""
        data = os.pread(self._fd, take, self._start + self._pos)
        self._pos += len(data)
        return data

    def close(self) -> None:
        pass


class MemoryPipe:
    """The producer side of a GrowingFile (write, finish, abort, cancel) and the reader side of a
    TailReader (`read(n)` returns exactly n bytes, fewer only at the end) over blocks held in memory
    for one reader: `write` waits while `limit` bytes are unread (a single larger write is taken
    when the pipe is empty), so the producer never gets further ahead than that."""

    def __init__(self, limit: int):
        self._limit = limit
        self._blocks: deque[memoryview] = deque()
        self._buffered = 0
        self._done = False
        self._error: str | None = None
        self._changed = threading.Condition()

    # producer side -------------------------------------------------------------------------

    def write(self, data) -> int:
        block = memoryview(data if isinstance(data, bytes) else bytes(data))  # the caller may reuse its buffer
        with self._changed:
            while self._error is None and self._buffered and self._buffered + len(block) > self._limit:
                self._changed.wait()
            if self._error is not None:
                raise ProductionFailed(f"Stopped: {self._error}")
            if block:
                self._blocks.append(block)
                self._buffered += len(block)
                self._changed.notify_all()
        return len(block)

    def flush(self) -> None:
        pass

    def finish(self) -> None:
        with self._changed:
            self._done = True
            self._changed.notify_all()

    def abort(self, reason: str) -> None:
        self.cancel(reason)

    def cancel(self, reason: str) -> None:
        with self._changed:
            if not self._done and self._error is None:
                self._error = reason
            self._blocks.clear()
            self._buffered = 0
            self._changed.notify_all()

    # reader side ---------------------------------------------------------------------------

    def reader(self) -> "MemoryPipe":
        return self

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return False

    def read(self, n: int = -1) -> bytes:
        with self._changed:
            while self._error is None and not self._done and (n is None or n < 0 or self._buffered < n):
                self._changed.wait()
            if self._error is not None:
                raise ProductionFailed(f"The backup payload was not completed: {self._error}")
            data = self._take(self._buffered if n is None or n < 0 else min(n, self._buffered))
            self._changed.notify_all()  # room for the producer
            return data

    def _take(self, n: int) -> bytes:
        """n buffered bytes: a whole written block as it was given (no copy), else a join of pieces."""
        head = self._blocks[0] if self._blocks else None
        if head is not None and len(head) == n and isinstance(head.obj, bytes) and len(head.obj) == n:
            self._blocks.popleft()
            self._buffered -= n
            return head.obj
        pieces = []
        left = n
        while left:
            head = self._blocks[0]
            if len(head) <= left:
                pieces.append(self._blocks.popleft())
                left -= len(head)
            else:
                pieces.append(head[:left])
                self._blocks[0] = head[left:]
                left = 0
        self._buffered -= n
        return b"".join(pieces)

    def close(self) -> None:
        pass
