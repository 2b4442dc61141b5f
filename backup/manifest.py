"""manifest.json: what a backup holds, signed with an HMAC so a tampered manifest is detected.

The HMAC covers the canonical JSON of every field except `hmac` itself.
"""
from __future__ import annotations

import hashlib
import hmac
import json
from datetime import datetime
from typing import Any

from appliance import clock

from .errors import CorruptCopy, KeyProblem, UnsupportedFormat
from .keys import BackupKey

FORMAT_VERSION = 1
MANIFEST_NAME = "manifest.json"
PAYLOAD_NAME = "payload.zst.aes"


def new_backup_id(now: datetime | None = None) -> str:
    """`20261122T153000Z-ab12`: sorts by creation time, also within one second: the suffix is the
    fraction of the second in 1/65536ths (random digits would order same-second backups at random)."""
    now = now or clock.now()
    return now.strftime("%Y%m%dT%H%M%SZ") + f"-{now.microsecond * 65536 // 1_000_000:04x}"


def backup_time(backup_id: str) -> datetime:
    """Naive UTC time a backup id was made (like every stored time)."""
    return datetime.strptime(backup_id.split("-")[0], "%Y%m%dT%H%M%SZ")


def _canonical(fields: dict[str, Any]) -> bytes:
    body = {k: v for k, v in fields.items() if k != "hmac"}
    return json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def sign(fields: dict[str, Any], key: BackupKey) -> dict[str, Any]:
    signed = dict(fields)
    signed["hmac"] = hmac.new(key.mac, _canonical(fields), hashlib.sha256).hexdigest()
    return signed


def dumps(manifest: dict[str, Any]) -> bytes:
    return json.dumps(manifest, indent=2, sort_keys=True, ensure_ascii=False).encode() + b"\n"


def parse(raw: bytes, where: str) -> dict[str, Any]:
    """Decodes a manifest and refuses newer formats, before any key is involved."""
    try:
        manifest = json.loads(raw)
    except (UnicodeDecodeError, json.JSONDecodeError):
        raise CorruptCopy(f"The manifest of {where} is not valid JSON.") from None
    if not isinstance(manifest, dict) or not isinstance(manifest.get("format"), int):
        raise CorruptCopy(f"The manifest of {where} has no format version.")
    if manifest["format"] > FORMAT_VERSION:
        raise UnsupportedFormat(
            f"{where} was written in backup format {manifest['format']}; this appliance reads up to "
            f"format {FORMAT_VERSION}: upgrade the appliance to restore it.")
    return manifest


def check(manifest: dict[str, Any], key: BackupKey, where: str) -> dict[str, Any]:
    """Checks the key matches and the HMAC holds; returns the manifest."""
    made_with = manifest.get("key_fingerprint")
    if made_with != key.fingerprint:
        raise KeyProblem(
            f"{where} was made with backup key {made_with}, but the key in use is {key.fingerprint}: "
            "put the right key in keys/backup.key.")
    expected = hmac.new(key.mac, _canonical(manifest), hashlib.sha256).hexdigest()
    if not hmac.compare_digest(expected, str(manifest.get("hmac", ""))):
        raise CorruptCopy(f"The manifest of {where} fails its HMAC: it was altered or damaged.")
    return manifest


def whose(manifest: dict[str, Any]) -> dict[str, Any]:
    """The box and lineage a backup names (backup/identity.py); None for a backup made before backups
    named them (format 1 without these fields: it lists and restores as before)."""
    return {"box_id": manifest.get("box_id"), "lineage": manifest.get("lineage"),
            "parent_lineage": manifest.get("parent_lineage"), "lineage_since": manifest.get("lineage_since"),
            "restored_from": manifest.get("restored_from"), "sandbox": bool(manifest.get("sandbox", False))}
