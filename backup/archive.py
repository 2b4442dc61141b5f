"""One backup: a snapshot (`take_snapshot`), zstd-compressed and encrypted into the payload with its
signed manifest (`seal`), and the way back (`check_payload`, `extract`).

Everything streams in fixed-size blocks, so memory stays flat for a multi-GB database. `seal` writes
the payload to a sink (stream.GrowingFile in `backup run`, read by the uploads while it grows) and
hashes and counts it on the way, so it is written once and never read back for its checksum.
"""
from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from datetime import datetime
from importlib import metadata
from pathlib import Path
from typing import Any, BinaryIO

import zstandard

from appliance import schema
from appliance.config import Settings
from appliance.db import database
from appliance.models import utcnow

from . import manifest as mf
from . import snapshot
from .crypto import EncryptingWriter, decrypt_chunks
from .errors import CorruptCopy
from .keys import BackupKey
from .progress import Progress

BLOCK = 1024 * 1024


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


@dataclass(frozen=True)
class Snapshot:
    path: Path
    counts: dict[str, Any]
    created_at: datetime
    engine: str


def take_snapshot(folder: Path, close_connection: bool = False) -> Snapshot:
    """A consistent snapshot of the live database as `folder/snapshot`, with its business counts.

    `close_connection`: when run on a thread of its own, close that thread's database connection.
    """
    folder.mkdir(parents=True, exist_ok=True)
    snap = folder / "snapshot"
    try:
        counts = snapshot.take(snap)
    finally:
        if close_connection:
            database.close()
    return Snapshot(snap, counts, utcnow(), snapshot.engine())


def seal(settings: Settings, key: BackupKey, snap: Snapshot, backup_id: str, sink: BinaryIO,
         show_progress: bool = True) -> Archive:
    """Compresses + encrypts a snapshot into `sink`, hashing and counting the payload on the way
    (it is never read back for that), removes the snapshot file; returns the signed manifest.
    `sink` is typically a stream.GrowingFile that the uploads read while it grows.
    """
    snapshot_bytes = snap.path.stat().st_size
    chunk = settings.backup.chunk_kib * 1024
    progress = Progress(f"backup {backup_id}: compress + encrypt", snapshot_bytes, enabled=show_progress)
    with open(snap.path, "rb") as src:
        counted = _CountingWriter(sink)
        encrypting = EncryptingWriter(counted, key.encryption, chunk)
        # Multi-threaded zstd (one worker per core, at most 4): same format, a fraction of the time.
        compressor = zstandard.ZstdCompressor(level=settings.backup.zstd_level,
                                              threads=min(4, os.cpu_count() or 1))
        with compressor.stream_writer(encrypting, closefd=False) as compressing:
            while block := src.read(BLOCK):
                compressing.write(block)
                progress(len(block))
        encrypting.close()
    progress.finish()
    snap.path.unlink()
    fields = {
        "format": mf.FORMAT_VERSION,
        "backup_id": backup_id,
        "created_at": snap.created_at.isoformat() + "Z",
        "app_version": app_version(),
        "schema_version": schema.current_version(),
        "engine": snap.engine,
        "snapshot_bytes": snapshot_bytes,
        "payload_name": mf.PAYLOAD_NAME,
        "payload_bytes": counted.size,
        "payload_sha256": counted.sha.hexdigest(),
        "compression": "zstd",
        "cipher": "AES-256-GCM",
        "chunk_bytes": chunk,
        "key_fingerprint": key.fingerprint,
        "counts": snap.counts,
    }
    return Archive(backup_id, snap.path.parent, mf.sign(fields, key))


def check_payload(payload: Path, manifest: dict[str, Any], where: str) -> None:
    """Size and SHA-256 of a downloaded payload against its (already authenticated) manifest."""
    size = payload.stat().st_size
    if size != manifest["payload_bytes"]:
        raise CorruptCopy(f"The payload of {where} is {size} bytes; the manifest says "
                          f"{manifest['payload_bytes']} (truncated or damaged).")
    sha = hashlib.sha256()
    with open(payload, "rb") as f:
        while block := f.read(BLOCK):
            sha.update(block)
    if sha.hexdigest() != manifest["payload_sha256"]:
        raise CorruptCopy(f"The payload of {where} fails its SHA-256 check: it was altered or damaged.")


def extract(payload: Path, manifest: dict[str, Any], key: BackupKey, out: Path, where: str,
            show_progress: bool = True) -> None:
    """Decrypts and decompresses a checked payload into `out` (the snapshot file)."""
    progress = Progress(f"restore {manifest['backup_id']}: decrypt + decompress", manifest["payload_bytes"],
                        enabled=show_progress)
    try:
        with open(payload, "rb") as src, open(out, "wb") as dst:
            with zstandard.ZstdDecompressor().stream_writer(dst, closefd=False) as decompressing:
                for plain in decrypt_chunks(src, key.encryption, where, on_read=lambda b: progress(len(b))):
                    decompressing.write(plain)
            dst.flush()
            os.fsync(dst.fileno())
    except zstandard.ZstdError as e:
        raise CorruptCopy(f"The payload of {where} does not decompress: {e}.") from None
    progress.finish()
    if out.stat().st_size != manifest["snapshot_bytes"]:
        raise CorruptCopy(f"The snapshot in {where} has the wrong size after decompression.")
