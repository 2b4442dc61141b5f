"""One backup: a snapshot of the live database, zstd-compressed and encrypted into the payload with
its signed manifest (`seal`), and the way back (`check_payload`, `extract`).

Everything streams in fixed-size blocks, so memory stays flat for a multi-GB database. `seal` writes
the payload to a sink (stream.GrowingFile in `backup run`, read by the uploads while it grows) and
hashes and counts it on the way, so it is written once and never read back for its checksum.
"""
from __future__ import annotations

import hashlib
import os
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
from .crypto import EncryptingWriter, decrypt_chunks
from .errors import CorruptCopy
from .keys import BackupKey
from .progress import Progress
from .stream import read_ahead

BLOCK = 1024 * 1024
# A restore writes the database in pieces this big (zstd's default is 128 KiB: 8,192 writes a GB).
WRITE_SIZE = 4 * 1024 * 1024


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
        "chunk_bytes": chunk,
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
    try:
        with open(out, "wb") as dst:
            with zstandard.ZstdDecompressor().stream_writer(dst, write_size=WRITE_SIZE, closefd=False) as decompressing:
                chunks = decrypt_chunks(payload, key.encryption, where, on_read=lambda b: progress(len(b)))
                for plain in read_ahead(chunks, name="restore-decrypt"):
                    decompressing.write(plain)
            payload.check_end()
            dst.flush()
            if durable:
                os.fsync(dst.fileno())
    except zstandard.ZstdError as e:
        raise CorruptCopy(f"The payload of {where} does not decompress: {e}.") from None
    progress.finish()
    if out.stat().st_size != manifest["snapshot_bytes"]:
        raise CorruptCopy(f"The snapshot in {where} has the wrong size after decompression.")
