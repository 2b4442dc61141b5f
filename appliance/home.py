"""The home folder a box owns (APPLIANCE_HOME): config, database, keys, backups, logs.

What `create` makes is its owner's alone whatever the umask (outside systemd's UMask=0077 too): folders
0700, files 0600; appliance.toml may hold a PostgreSQL password. Folders and files that exist already
keep their modes (the installer makes the home 0750 on purpose).
"""
from __future__ import annotations

import base64
import os
import secrets
from pathlib import Path

from . import config

SUBFOLDERS = ("keys", "backups", "logs", "run")


def _write_private(path: Path, data: bytes) -> None:
    """Creates a file readable only by its owner; never overwrites (keys must not change silently)."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as f:
        os.fchmod(fd, 0o600)  # os.open's mode passes through the umask
        f.write(data)


def _private_folder(path: Path) -> None:
    """Creates a folder (and missing parents) only its owner may enter; an existing one is left as it is."""
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        path.mkdir(mode=0o700)
    except FileExistsError:
        return
    os.chmod(path, 0o700)  # mkdir's mode passes through the umask


def create(home: Path, database_url: str | None = None) -> list[str]:
    """Creates what is missing; returns what it created. Existing config and keys are kept."""
    created = []
    _private_folder(home)
    for sub in SUBFOLDERS:
        _private_folder(home / sub)
    os.chmod(home / "keys", 0o700)
    config_path = home / config.CONFIG_FILE
    if not config_path.exists():
        _write_private(config_path, config.default_toml(database_url, machine_timezone()).encode())
        created.append(str(config_path))
    settings = config.load(home)
    for setting, make in ((settings.server.secret_key_file, lambda: secrets.token_bytes(32)),
                          (settings.backup.key_file, new_backup_key)):
        path = settings.path(setting)
        if not path.exists():
            _private_folder(path.parent)
            _write_private(path, make())
            created.append(str(path))
    return created


def machine_timezone(environ: dict[str, str] | None = None, etc: Path = Path("/etc")) -> str:
    """The machine's IANA time zone (TZ, /etc/timezone, or where /etc/localtime points), else UTC."""
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError
    environ = os.environ if environ is None else environ
    candidates = [environ.get("TZ", "").lstrip(":")]
    try:
        candidates.append((etc / "timezone").read_text().strip())
    except OSError:
        pass
    try:
        candidates.append(os.readlink(etc / "localtime").partition("zoneinfo/")[2])
    except OSError:
        pass
    for name in candidates:
        try:
            if name and ZoneInfo(name):
                return name
        except (ZoneInfoNotFoundError, ValueError):
            continue
    return "UTC"


def new_backup_key() -> bytes:
    """32 random bytes, url-safe base64 on one line: the form `backup key export` prints."""
    return base64.urlsafe_b64encode(secrets.token_bytes(32)) + b"\n"
