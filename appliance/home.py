"""The home folder a box owns (APPLIANCE_HOME): config, database, keys, backups, logs."""
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
        f.write(data)


def create(home: Path, database_url: str | None = None) -> list[str]:
    """Creates what is missing; returns what it created. Existing config and keys are kept."""
    created = []
    home.mkdir(parents=True, exist_ok=True)
    for sub in SUBFOLDERS:
        (home / sub).mkdir(exist_ok=True)
    os.chmod(home / "keys", 0o700)
    config_path = home / config.CONFIG_FILE
    if not config_path.exists():
        config_path.write_text(config.default_toml(database_url, machine_timezone()))
        created.append(str(config_path))
    settings = config.load(home)
    for setting, make in ((settings.server.secret_key_file, lambda: secrets.token_bytes(32)),
                          (settings.backup.key_file, new_backup_key)):
        path = settings.path(setting)
        if not path.exists():
            path.parent.mkdir(parents=True, exist_ok=True)
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
