"""Putting one backup's files on a target, and fetching them back, manifest last on the way up."""
from __future__ import annotations

import io
from concurrent.futures import Future
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Iterator

from . import manifest as mf
from .archive import CheckedPayload, check_payload
from .errors import CorruptCopy
from .keys import BackupKey
from .progress import Progress
from .stream import GrowingFile, downloading
from .targets import Target


def upload(target: Target, folder: Path, backup_id: str, show_progress: bool = True) -> int:
    """Payload first, manifest last: only a complete upload lists as a backup. Returns bytes sent."""
    payload = folder / mf.PAYLOAD_NAME
    size = payload.stat().st_size
    progress = Progress(f"upload {backup_id} -> {target.name}", size, enabled=show_progress)
    target.put(payload, f"{backup_id}/{mf.PAYLOAD_NAME}", progress)
    target.put(folder / mf.MANIFEST_NAME, f"{backup_id}/{mf.MANIFEST_NAME}")
    progress.finish()
    return size + (folder / mf.MANIFEST_NAME).stat().st_size


def upload_stream(target: Target, payload: GrowingFile, manifest_ready: Future, backup_id: str,
                  show_progress: bool = True) -> int:
    """Uploads a payload while it is being made (reading it as it grows), then, once the payload
    is in place and the manifest exists, the manifest: only a complete upload lists as a backup.
    Returns bytes sent."""
    progress = Progress(f"upload {backup_id} -> {target.name}", None, enabled=show_progress)
    with payload.reader() as source:
        target.put_stream(source, f"{backup_id}/{mf.PAYLOAD_NAME}", progress)
    manifest: bytes = manifest_ready.result()  # once the backup is in the catalog
    target.put_stream(io.BytesIO(manifest), f"{backup_id}/{mf.MANIFEST_NAME}")
    progress.finish()
    return progress.done_bytes + len(manifest)


def fetch_manifest(target: Target, backup_id: str, folder: Path, key: BackupKey | None) -> dict[str, Any]:
    """Downloads and parses a manifest; with a key, also checks the key and the HMAC."""
    folder.mkdir(parents=True, exist_ok=True)
    where = f"backup {backup_id} on {target.name}"
    path = folder / mf.MANIFEST_NAME
    target.get(f"{backup_id}/{mf.MANIFEST_NAME}", path)
    manifest = mf.parse(path.read_bytes(), where)
    if key is not None:
        mf.check(manifest, key, where)
    if manifest.get("backup_id") != backup_id:
        raise CorruptCopy(f"The manifest of {where} names another backup ({manifest.get('backup_id')}).")
    return manifest


def fetch(target: Target, backup_id: str, folder: Path, key: BackupKey,
          show_progress: bool = True) -> dict[str, Any]:
    """Downloads manifest + payload into `folder`, checks HMAC and SHA-256; returns the manifest."""
    manifest = fetch_manifest(target, backup_id, folder, key)
    progress = Progress(f"download {backup_id} <- {target.name}", manifest["payload_bytes"], enabled=show_progress)
    target.get(f"{backup_id}/{mf.PAYLOAD_NAME}", folder / mf.PAYLOAD_NAME, progress)
    progress.finish()
    check_payload(folder / mf.PAYLOAD_NAME, manifest, f"backup {backup_id} on {target.name}")
    return manifest


@contextmanager
def payload_stream(target: Target, backup_id: str, folder: Path, manifest: dict[str, Any]) -> Iterator[CheckedPayload]:
    """The payload of an (authenticated) manifest while it downloads (stream.downloading, through
    memory: decoded as it comes, never written to `folder`); the reader's `check_end` holds size and
    SHA-256 against the manifest."""
    with downloading(target, f"{backup_id}/{mf.PAYLOAD_NAME}") as reader:
        yield CheckedPayload(reader, manifest, f"backup {backup_id} on {target.name}")
