"""The backup key: 32 random bytes in urlsafe base64 in `keys/backup.key`.

Separate keys for encryption and for the manifest HMAC are derived with HKDF, so neither use
can leak the other; the fingerprint (also derived) names the key in manifests without revealing it.
"""
from __future__ import annotations

import base64
import binascii
import hashlib
from dataclasses import dataclass
from pathlib import Path

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from .errors import KeyProblem

KEY_BYTES = 32


@dataclass(frozen=True, repr=False)
class BackupKey:
    encryption: bytes
    mac: bytes
    fingerprint: str
    master: bytes

    def __repr__(self) -> str:  # never print key material
        return f"BackupKey(fingerprint={self.fingerprint})"


def _derive(master: bytes, purpose: str, length: int = 32) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=length, salt=None,
                info=f"store-appliance backup {purpose} v1".encode()).derive(master)


def from_master(master: bytes) -> BackupKey:
    return BackupKey(
        encryption=_derive(master, "encryption"),
        mac=_derive(master, "manifest-hmac"),
        fingerprint=_derive(master, "fingerprint", 8).hex(),
        master=master,
    )


def parse(text: str, source: str = "the backup key") -> BackupKey:
    """Accepts the key file's content or `backup key export` output (comment lines are ignored)."""
    lines = [ln.strip() for ln in text.splitlines() if ln.strip() and not ln.lstrip().startswith("#")]
    if not lines:
        raise KeyProblem(f"{source} is empty.")
    try:
        master = base64.urlsafe_b64decode(lines[0].encode())
    except (binascii.Error, ValueError):
        raise KeyProblem(f"{source} is not urlsafe base64.") from None
    if len(master) != KEY_BYTES:
        raise KeyProblem(f"{source} holds {len(master)} bytes; a backup key is {KEY_BYTES}.")
    return from_master(master)


def load(path: Path) -> BackupKey:
    if not path.exists():
        raise KeyProblem(f"No backup key at {path}: restore it from your offline copy "
                         "(`appliance backup key export` on the old box).")
    return parse(path.read_text(), str(path))


def export_text(key: BackupKey) -> str:
    """What to print and store offline: the key plus a checksum to catch transcription errors."""
    encoded = base64.urlsafe_b64encode(key.master).decode()
    check = hashlib.sha256(key.master).hexdigest()[:8]
    return (
        "# Store Appliance backup key. Keep it offline (paper, password manager); restores need it.\n"
        f"# fingerprint {key.fingerprint}  checksum {check}\n"
        f"# restore on a new box: save the next line as keys/backup.key\n"
        f"{encoded}\n"
    )
