"""One backup: a snapshot of the live database, zstd-compressed and encrypted into the payload with
its signed manifest (`seal`), and the way back (`check_payload`, `extract`).

Everything streams in fixed-size blocks, so memory stays flat for a multi-GB database. `seal` writes
the payload to a sink (stream.GrowingFile in `backup run`, read by the uploads while it grows) and
hashes and counts it on the way, so it is written once and never read back for its checksum.

The payload (format 3, backup/crypto.py) is the snapshot cut into SEGMENT-sized slices, each
compressed into a zstd frame of its own and sealed as one record: a restore decompresses several
frames at once and writes each at its own offset (a single zstd stream decodes on one core only,
which made a 1 GB restore slower than restic's, issue 11). Payloads of formats 1 and 2 (one zstd
stream, sealed in fixed-size chunks) still restore.
"""
from __future__ import annotations

import errno
import hashlib
import os
import threading
from collections import deque
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import Any, BinaryIO, Callable

import zstandard

from appliance import schema
from appliance.config import Settings
from appliance.models import utcnow

from . import manifest as mf
from . import snapshot
from .crypto import MAX_CHUNK, EncryptingWriter, RecordWriter, decrypt_chunks, decrypt_records, read_header
from .errors import CorruptCopy
from .keys import BackupKey
from .progress import Progress
from .stream import read_ahead

BLOCK = 1024 * 1024
# A restore writes the database in pieces this big (zstd's default is 128 KiB: 8,192 writes a GB).
WRITE_SIZE = 4 * 1024 * 1024
# The slice of the snapshot in each zstd frame (format 3): big enough that zstd level 1 loses nothing
# to the cuts (its window is 512 KiB), small enough that a few in flight per thread cost little memory.
SEGMENT = 4 * 1024 * 1024
# Decompressed output is written in pieces of this size from a reused buffer (it stays in the cache).
FRAME_WRITE_SIZE = 1024 * 1024
MAX_FRAME = SEGMENT + SEGMENT // 128  # above zstd's worst case for a segment (incompressible: +0.4%)
# What `seal` writes; 2 (one zstd stream in fixed-size chunks) stays for the tests of older payloads.
PAYLOAD_FORMAT = 3


@dataclass(frozen=True)
class Archive:
    backup_id: str
    folder: Path
    manifest: dict[str, Any]

    @property
    def manifest_bytes(self) -> bytes:
        return mf.dumps(self.manifest)


class _CountingWriter:
    """Passes writes through while hashing and counting them."""

    def __init__(self, sink: BinaryIO):
        self.sink, self.sha, self.size = sink, hashlib.sha256(), 0

    def write(self, data) -> int:
        self.sink.write(data)
        self.sha.update(data)
        self.size += len(data)
        return len(data)


def app_version() -> str:
    try:
        return metadata.version("store-appliance")
    except metadata.PackageNotFoundError:
        return "unknown"


def seal(settings: Settings, key: BackupKey, folder: Path, backup_id: str, sink: BinaryIO,
         show_progress: bool = True, on_snapshot: Callable[[str], None] | None = None) -> Archive:
    """Takes a consistent snapshot of the live database and compresses + encrypts it into `sink`,
    hashing and counting the payload on the way (it is never read back for that); returns the
    signed manifest. `folder` holds scratch files, if any. `on_snapshot(how)` is called once the
    snapshot is pinned. `sink` is typically a stream.GrowingFile that the uploads read while it grows.
    """
    chunk = settings.backup.chunk_kib * 1024
    created_at = utcnow()
    with snapshot.taken(folder) as snap:
        if on_snapshot:
            on_snapshot(snap.how)
        progress = Progress(f"backup {backup_id}: compress + encrypt", snap.size, enabled=show_progress)
        with ThreadPoolExecutor(max_workers=1, thread_name_prefix="backup-seal") as pool:
            if PAYLOAD_FORMAT == 3:
                chunk = SEGMENT
                sealing = pool.submit(_compress_encrypt_frames, snap.source, sink, key, settings.backup.zstd_level,
                                      progress)
            else:
                sealing = pool.submit(_compress_encrypt, snap.source, sink, key, chunk, settings.backup.zstd_level,
                                      progress)
            counts = snap.counts()  # meanwhile, on this thread (the snapshot's read transaction)
            counted = sealing.result()
    progress.finish()
    fields = {
        "format": mf.FORMAT_VERSION,
        "backup_id": backup_id,
        "created_at": created_at.isoformat() + "Z",
        "app_version": app_version(),
        "schema_version": schema.current_version(),
        "engine": snapshot.engine(),
        "snapshot_bytes": snap.size,
        "payload_name": mf.PAYLOAD_NAME,
        "payload_bytes": counted.size,
        "payload_sha256": counted.sha.hexdigest(),
        "compression": "zstd",
        "cipher": "AES-256-GCM",
        "chunk_bytes": chunk,  # format 3: the snapshot bytes in each zstd frame
        "payload_format": PAYLOAD_FORMAT,
        "key_fingerprint": key.fingerprint,
        "counts": counts,
    }
    return Archive(backup_id, folder, mf.sign(fields, key))


def _compress_encrypt(source: BinaryIO, sink: BinaryIO, key: BackupKey, chunk: int, level: int,
                      progress: Progress) -> _CountingWriter:
    counted = _CountingWriter(sink)
    encrypting = EncryptingWriter(counted, key.encryption, chunk)
    # Multi-threaded zstd (one worker per core, at most 4): same format, a fraction of the time.
    # The snapshot is read into one reused buffer (zstd copies what it is given before write()
    # returns), not into a new bytes object per block; compressed output comes out a chunk at a time.
    compressor = zstandard.ZstdCompressor(level=level, threads=min(4, os.cpu_count() or 1))
    buffer = bytearray(BLOCK)
    view = memoryview(buffer)
    with compressor.stream_writer(encrypting, closefd=False, write_size=chunk) as compressing:
        while n := source.readinto(buffer):
            compressing.write(view[:n])
            progress(n)
    encrypting.close()
    return counted


def _compress_encrypt_frames(source: BinaryIO, sink: BinaryIO, key: BackupKey, level: int,
                             progress: Progress) -> _CountingWriter:
    """Format 3: each SEGMENT of `source` compressed on its own by one of up to 4 threads (zstd
    releases the GIL), sealed as one record in order."""
    counted = _CountingWriter(sink)
    sealing = RecordWriter(counted, key.encryption, MAX_FRAME)
    workers = min(4, os.cpu_count() or 1)
    per_thread = threading.local()  # a ZstdCompressor serves one call at a time

    def compress(segment: bytes) -> bytes:
        if not hasattr(per_thread, "zstd"):
            per_thread.zstd = zstandard.ZstdCompressor(level=level)  # writes the content size in the frame
        return per_thread.zstd.compress(segment)

    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="backup-compress") as pool:
        in_flight: deque = deque()
        while segment := _read_full(source, SEGMENT):
            in_flight.append(pool.submit(compress, segment))
            progress(len(segment))
            if len(in_flight) > workers:  # one waiting per thread: memory stays at a few segments
                sealing.write_record(in_flight.popleft().result())
        while in_flight:
            sealing.write_record(in_flight.popleft().result())
    sealing.close()
    return counted


def _read_full(source: BinaryIO, size: int) -> bytes:
    """`size` bytes of `source` (fewer only at its end): every frame but the last holds a whole segment."""
    data = source.read(size)
    while data and len(data) < size and (more := source.read(size - len(data))):
        data += more
    return data


def check_payload(payload: Path, manifest: dict[str, Any], where: str) -> None:
    """Size and SHA-256 of a downloaded payload against its (already authenticated) manifest."""
    with open(payload, "rb") as f:
        checked = CheckedPayload(f, manifest, where)
        while checked.read(BLOCK):
            pass
        checked.check_end()


class CheckedPayload:
    """A payload read as it comes (a file, or a download in progress), hashed and counted on the way;
    `check_end` drains it and holds size and SHA-256 against the (authenticated) manifest."""

    def __init__(self, source: BinaryIO, manifest: dict[str, Any], where: str):
        self._source, self._manifest, self._where = source, manifest, where
        self._sha, self._size = hashlib.sha256(), 0

    def read(self, n: int = -1) -> bytes:
        data = self._source.read(n)
        self._sha.update(data)
        self._size += len(data)
        if self._size > self._manifest["payload_bytes"]:
            raise CorruptCopy(f"The payload of {self._where} is longer than the manifest says "
                              f"({self._manifest['payload_bytes']} bytes).")
        return data

    def check_end(self) -> None:
        while self.read(BLOCK):
            pass
        if self._size != self._manifest["payload_bytes"]:
            raise CorruptCopy(f"The payload of {self._where} is {self._size} bytes; the manifest says "
                              f"{self._manifest['payload_bytes']} (truncated or damaged).")
        if self._sha.hexdigest() != self._manifest["payload_sha256"]:
            raise CorruptCopy(f"The payload of {self._where} fails its SHA-256 check: it was altered or damaged.")


def extract(payload: CheckedPayload, manifest: dict[str, Any], key: BackupKey, out: Path, where: str,
            show_progress: bool = True, durable: bool = True) -> None:
    """Decrypts and decompresses a payload as it is read into `out` (the snapshot file), then checks
    the payload's size and SHA-256 (before `out` is used for anything: the caller renames it only
    after this returns). `durable=False` for scratch copies (a verify, a dump for pg_restore): their
    fsync would make the order writer's next WAL fsync wait behind a flush of a file deleted soon."""
    progress = Progress(f"restore {manifest['backup_id']}: download + decrypt + decompress",
                        manifest["payload_bytes"], enabled=show_progress)
    def on_read(data: bytes) -> None:
        progress(len(data))

    try:
        with open(out, "wb") as dst:
            header = read_header(payload, key.encryption, where, on_read)
            if header.format == 3:
                _preallocate(dst.fileno(), manifest["snapshot_bytes"])
                direct = _open_direct(out) if durable else None
                try:
                    decoded = _decode_frames(decrypt_records(payload, header, where, on_read), dst.fileno(), where,
                                             direct_fd=direct)
                finally:
                    if direct is not None:
                        os.close(direct)
                if decoded != manifest["snapshot_bytes"]:  # the file's size says nothing once preallocated
                    raise CorruptCopy(f"The snapshot in {where} has the wrong size after decompression.")
            else:
                _decode_stream(decrypt_chunks(payload, key.encryption, where, on_read, header=header), dst)
            payload.check_end()
            dst.flush()
            if durable:
                os.fsync(dst.fileno())
    except zstandard.ZstdError as e:
        raise CorruptCopy(f"The payload of {where} does not decompress: {e}.") from None
    progress.finish()
    if out.stat().st_size != manifest["snapshot_bytes"]:
        raise CorruptCopy(f"The snapshot in {where} has the wrong size after decompression.")


def _decode_stream(chunks, dst: BinaryIO) -> None:
    """Formats 1 and 2: one zstd stream, decompressed and written in order on this thread while the
    next chunks are read and decrypted on another."""
    with zstandard.ZstdDecompressor().stream_writer(dst, write_size=WRITE_SIZE, closefd=False) as decompressing:
        for plain in read_ahead(chunks, name="restore-decrypt"):
            decompressing.write(plain)


def _preallocate(fd: int, size: int) -> None:
    """Gives the file its `size` in disk blocks up front (fallocate, as restic does), where the
    file system can: writing 1 GB into allocated blocks cost the kernel a fraction of allocating
    them write by write. Nothing where it cannot (no zeros written instead, unlike posix_fallocate)."""
    global _fallocate
    if _fallocate is None:
        import ctypes
        import ctypes.util
        libc = ctypes.CDLL(ctypes.util.find_library("c"), use_errno=True)
        _fallocate = libc.fallocate
        _fallocate.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.c_int64, ctypes.c_int64]
    if size > 0:
        _fallocate(fd, 0, 0, size)  # a failure (EOPNOTSUPP, ENOSPC) leaves it to the writes, as before


_fallocate = None


def _open_direct(path: Path) -> int | None:
    """A second descriptor on `path` that writes past the page cache (O_DIRECT), or None where the
    file system refuses it. Why: the restored file is fsynced anyway, and putting 1 GB in the page
    cache first means 1 GB of fresh pages: on a VM whose free memory goes back to the host (free page
    reporting, as on the bench machine) touching them cost ~4 s of system time per GB (dd: 0.4 s when
    the pages were freed a moment before, 4-5 s when 5 s before); straight to the disk it was ~1.2 s."""
    flag = getattr(os, "O_DIRECT", 0)
    if not flag:
        return None
    try:
        return os.open(path, os.O_WRONLY | flag)
    except OSError:
        return None


def _decode_frames(frames, fd: int, where: str, workers: int | None = None, direct_fd: int | None = None) -> int:
    """Format 3: records are read and decrypted ahead on one thread; each frame is decompressed by
    one of `workers` threads (zstd and os.pwrite release the GIL) and written at its own offset,
    which this thread works out from the sizes the frames declare, in order; through `direct_fd`
    (O_DIRECT) where offset and length are aligned, else through `fd`. Returns the bytes the frames
    declared (all written)."""
    workers = workers or min(4, os.cpu_count() or 1)
    per_thread = threading.local()  # a ZstdDecompressor serves one call at a time

    def place(frame: bytes, offset: int, size: int) -> None:
        if not hasattr(per_thread, "zstd"):
            per_thread.zstd = zstandard.ZstdDecompressor()
            per_thread.writer = _AlignedWriter(fd, direct_fd) if direct_fd is not None else None
        at = per_thread.writer.starting_at(offset) if per_thread.writer else _WritingAt(fd, offset)
        with per_thread.zstd.stream_writer(at, write_size=FRAME_WRITE_SIZE, closefd=False) as decompressing:
            decompressing.write(frame)
        if per_thread.writer:
            per_thread.writer.finish()
        if at.offset - offset != size:
            raise CorruptCopy(f"A frame of the payload of {where} does not hold the size it declares.")

    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="restore-decompress") as pool:
        in_flight: deque = deque()
        try:
            offset = 0
            for frame in read_ahead(frames, name="restore-decrypt"):
                size = zstandard.frame_content_size(frame)
                if not 0 <= size <= MAX_CHUNK:
                    raise CorruptCopy(f"A frame of the payload of {where} does not declare its size.")
                in_flight.append(pool.submit(place, frame, offset, size))
                offset += size
                if len(in_flight) > 2 * workers:  # bounded: memory stays at a few frames per thread
                    in_flight.popleft().result()
            while in_flight:
                in_flight.popleft().result()
            return offset
        except BaseException:
            for waiting in in_flight:  # a failed restore does not decompress what is still queued
                waiting.cancel()
            raise


class _WritingAt:
    """A file object writing from `offset` on with pwrite (threads writing apart share one descriptor)."""

    def __init__(self, fd: int, offset: int):
        self.fd, self.offset = fd, offset

    def write(self, data) -> int:
        view = memoryview(data)
        while view:
            written = os.pwrite(self.fd, view, self.offset)
            view, self.offset = view[written:], self.offset + written
        return len(data)


class _AlignedWriter:
    """`_WritingAt` through an O_DIRECT descriptor: what is written is gathered in one page-aligned
    buffer (reused: its pages stay mapped) and written from there in whole aligned pieces; a piece
    that is not aligned (a snapshot's last few bytes) goes through the ordinary descriptor `fd`."""

    ALIGN = 4096

    def __init__(self, fd: int, direct_fd: int):
        import mmap
        self.fd, self.direct_fd = fd, direct_fd
        self._buffer = mmap.mmap(-1, FRAME_WRITE_SIZE)  # anonymous: page-aligned, as O_DIRECT wants
        self._filled = 0
        self._start = self.offset = 0

    def starting_at(self, offset: int) -> "_AlignedWriter":
        self._start = self.offset = offset
        self._filled = 0
        return self

    def write(self, data) -> int:
        view = memoryview(data)
        while view:
            take = min(len(view), FRAME_WRITE_SIZE - self._filled)
            self._buffer[self._filled:self._filled + take] = view[:take]
            self._filled += take
            self.offset += take
            view = view[take:]
            if self._filled == FRAME_WRITE_SIZE:
                self._write_buffer()
        return len(data)

    def flush(self) -> None:
        pass

    def finish(self) -> None:
        if self._filled:
            self._write_buffer()

    def _write_buffer(self) -> None:
        at, length = self._start, self._filled
        view = memoryview(self._buffer)[:length]
        if at % self.ALIGN == 0 and length % self.ALIGN == 0:
            try:
                written = os.pwrite(self.direct_fd, view, at)
            except OSError as e:
                if e.errno != errno.EINVAL:  # refused for this file after all: the ordinary way below
                    raise
                written = 0
            view, at = view[written:], at + written
        while view:  # unaligned, refused, or what a short direct write left
            written = os.pwrite(self.fd, view, at)
            view, at = view[written:], at + written
        self._start, self._filled = at, 0
