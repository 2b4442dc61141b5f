"""One backup as files: a snapshot, zstd-compressed and encrypted into the payload, plus its manifest.

Everything streams in fixed-size blocks, so memory stays flat for a multi-GB database.
"""
from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import Any, BinaryIO

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

BLOCK = 1024 * 1024


@dataclass(frozen=True)
class Archive:
    backup_id: str
    folder: Path
    manifest: dict[str, Any]

    @property
    def payload(self) -> Path:
        return self.folder / mf.PAYLOAD_NAME

    @property
    def manifest_file(self) -> Path:
        return self.folder / mf.MANIFEST_NAME


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


def create(settings: Settings, key: BackupKey, staging: Path, show_progress: bool = True) -> Archive:
    """Snapshots the live database into `staging/<backup_id>/` as payload + manifest."""
    backup_id = mf.new_backup_id()
    folder = staging / backup_id
    folder.mkdir(parents=True)
    snap = folder / "snapshot"
    counts = snapshot.take(snap)
    created_at = utcnow()
    snapshot_bytes = snap.stat().st_size
    payload = folder / mf.PAYLOAD_NAME
    chunk = settings.backup.chunk_kib * 1024
    progress = Progress(f"backup {backup_id}: compress + encrypt", snapshot_bytes, enabled=show_progress)
    with open(snap, "rb") as src, open(payload, "wb") as raw:
        counted = _CountingWriter(raw)
        encrypting = EncryptingWriter(counted, key.encryption, chunk)
        # Multi-threaded zstd (one worker per core, at most 4): same format, a fraction of the time.
        compressor = zstandard.ZstdCompressor(level=settings.backup.zstd_level,
                                              threads=min(4, os.cpu_count() or 1))
        with compressor.stream_writer(encrypting, closefd=False) as compressing:
            while block := src.read(BLOCK):
                compressing.write(block)
                progress(len(block))
        encrypting.close()
        raw.flush()
        os.fsync(raw.fileno())
    progress.finish()
    snap.unlink()
    fields = {
        "format": mf.FORMAT_VERSION,
        "backup_id": backup_id,
        "created_at": created_at.isoformat() + "Z",
        "app_version": app_version(),
        "schema_version": schema.current_version(),
        "engine": snapshot.engine(),
        "snapshot_bytes": snapshot_bytes,
        "payload_name": mf.PAYLOAD_NAME,
        "payload_bytes": counted.size,
        "payload_sha256": counted.sha.hexdigest(),
        "compression": "zstd",
        "cipher": "AES-256-GCM",
        "chunk_bytes": chunk,
        "key_fingerprint": key.fingerprint,
        "counts": counts,
    }
    signed = mf.sign(fields, key)
    (folder / mf.MANIFEST_NAME).write_bytes(mf.dumps(signed))
    return Archive(backup_id, folder, signed)


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
