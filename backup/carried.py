"""The box's own config, carried in every backup's manifest, sealed with the backup key.

What a new box needs besides the database and the backup key: appliance.toml, the web sign-in
secret key, and the target secrets the box holds (each SFTP target's private key, each S3 target's
secret access key, the SMTP password file). They are encrypted with the backup key like the payload
(backup/crypto.py) and put in the manifest as base64 (a few KB), so they travel wherever the
manifest goes (catch-up, replicas of the target) and its HMAC covers them; they are never in clear
on a target. `appliance restore --from …` on an empty home puts them back (`install`).

A secret kept outside the home (an absolute path, e.g. /etc/appliance/nas.key) is put back under
keys/carried/ and appliance.toml is made to point there: a restore writes only inside the home.
"""
from __future__ import annotations

import base64
import io
import json
import os
from dataclasses import dataclass, field
from pathlib import Path

from appliance import config
from appliance.config import Settings
from appliance.models import utcnow

from .crypto import EncryptingWriter, decrypt_chunks
from .errors import CorruptCopy
from .keys import BackupKey

CHUNK = 64 * 1024
MAX_FILE = 1024 * 1024  # secrets are small; anything bigger is not carried


@dataclass
class Bundle:
    config_text: str
    files: list[dict] = field(default_factory=list)   # {"setting", "as", "what", "data" (base64)}

    def names(self) -> list[str]:
        return [config.CONFIG_FILE] + [f["as"] for f in self.files]


def _secret_settings(settings: Settings) -> list[tuple[str, str]]:
    """(setting value, what) of every file the box needs that is not the database or the backup key."""
    found = [(settings.server.secret_key_file, "web sign-in secret key")]
    for t in settings.backup.targets:
        if t.kind == "sftp":
            found.append((t.key_file, f"SSH private key of target {t.name}"))
        elif t.kind == "s3":
            found.append((t.secret_access_key_file, f"S3 secret access key of target {t.name}"))
    smtp = getattr(getattr(settings, "monitors", None), "smtp", None)
    if smtp is not None and getattr(smtp, "password_file", ""):
        found.append((smtp.password_file, "SMTP password"))
    return found


def _home_relative(settings: Settings, value: str, taken: set[str]) -> str:
    p = Path(value)
    if not p.is_absolute():
        return value
    try:
        return str(p.resolve().relative_to(settings.home.resolve()))
    except ValueError:
        pass
    name = f"keys/carried/{p.name}"
    n = 1
    while name in taken:
        n += 1
        name = f"keys/carried/{n}-{p.name}"
    return name


def collect(settings: Settings) -> Bundle:
    bundle = Bundle((settings.home / config.CONFIG_FILE).read_text())
    taken: set[str] = set()
    for value, what in _secret_settings(settings):
        source = settings.path(value)
        if any(f["setting"] == value for f in bundle.files):
            continue
        try:  # a file that is missing, unreadable or not a small secret stays behind: never fails a backup
            if not source.is_file() or source.stat().st_size > MAX_FILE:
                continue
            data = source.read_bytes()
        except OSError:
            continue
        dest = _home_relative(settings, value, taken)
        taken.add(dest)
        bundle.files.append({"setting": value, "as": dest, "what": what, "data": base64.b64encode(data).decode()})
    return bundle


def seal(bundle: Bundle, key: BackupKey) -> str:
    plain = json.dumps({"config": bundle.config_text, "files": bundle.files}).encode()
    out = io.BytesIO()
    writer = EncryptingWriter(out, key.encryption, CHUNK)
    writer.write(plain)
    writer.close()
    return base64.b64encode(out.getvalue()).decode()


def unseal(sealed: str, key: BackupKey, where: str) -> Bundle:
    try:
        raw = base64.b64decode(sealed.encode(), validate=True)
    except (ValueError, AttributeError):
        raise CorruptCopy(f"The carried config of {where} is not base64.") from None
    plain = b"".join(decrypt_chunks(io.BytesIO(raw), key.encryption, f"the carried config of {where}"))
    data = json.loads(plain)
    return Bundle(data["config"], data["files"])


def manifest_fields(settings: Settings, key: BackupKey) -> dict:
    bundle = collect(settings)
    return {"carries": bundle.names(), "carried": seal(bundle, key)}


def _write_private(path: Path, data: bytes) -> None:
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as f:
        os.fchmod(fd, 0o600)
        f.write(data)
    os.replace(tmp, path)


def _set_aside(path: Path, stamp: str) -> None:
    if path.exists():
        os.replace(path, path.with_name(f"{path.name}.before-restore-{stamp}"))


def install(home: Path, bundle: Bundle, key: BackupKey, key_file: str | None = None) -> list[str]:
    """Writes appliance.toml, the carried files and the backup key into `home` (existing ones are
    kept aside as NAME.before-restore-STAMP); returns what it wrote, home-relative."""
    stamp = utcnow().strftime("%Y%m%dT%H%M%SZ")
    home.mkdir(mode=0o700, parents=True, exist_ok=True)
    text = bundle.config_text
    for f in bundle.files:
        if f["as"] != f["setting"]:
            for quoted in (json.dumps(f["setting"]), f"'{f['setting']}'"):
                text = text.replace(quoted, json.dumps(f["as"]))
    outside = [f["as"] for f in bundle.files if not (home / f["as"]).resolve().is_relative_to(home.resolve())]
    if outside:
        raise CorruptCopy(f"The carried config names a file outside the home ({outside[0]}); nothing was written.")
    written = []
    config_path = home / config.CONFIG_FILE
    _set_aside(config_path, stamp)
    _write_private(config_path, text.encode())
    written.append(config.CONFIG_FILE)
    for f in bundle.files:
        path = home / f["as"]
        _set_aside(path, stamp)
        _write_private(path, base64.b64decode(f["data"]))
        written.append(f["as"])
    settings = config.load(home)
    key_path = settings.path(key_file or settings.backup.key_file)
    line = base64.urlsafe_b64encode(key.master) + b"\n"
    if not (key_path.exists() and key_path.read_bytes().strip() == line.strip()):
        _set_aside(key_path, stamp)
        _write_private(key_path, line)
        written.append(str(key_path.relative_to(home)) if key_path.is_relative_to(home) else str(key_path))
    return written
