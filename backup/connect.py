"""A target given on the command line (restic's "connect to a repository"): what a new box with an
empty home uses to read a target before it has any config (`restore --from`, `backup list --from`).

    sftp://USER@HOST[:PORT]/PATH  with --host-key 'ssh-ed25519 AAAA…' and --ssh-key FILE
    s3://BUCKET/PREFIX            with --endpoint URL (not for AWS), --region, --access-key-id ID and
                                  --secret-key-file FILE (or --secret-key-stdin)
    /PATH or file:///PATH         a folder (a disk, a USB drive)
"""
from __future__ import annotations

import os
import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import unquote, urlsplit

from appliance.config import Settings

from .errors import BackupError
from .settings import LocalTargetSettings, S3TargetSettings, SftpTargetSettings
from .targets import Target, build

NAME = "from"


@dataclass
class Reach:
    """The command line's facts about one target."""
    url: str
    host_key: str | None = None
    ssh_key: str | None = None
    endpoint: str | None = None
    region: str = "us-east-1"
    access_key_id: str | None = None
    secret_key_file: str | None = None
    secret_key: str | None = field(default=None, repr=False)  # from stdin; in a private file only while in use


def _missing(what: str, url: str) -> BackupError:
    return BackupError(f"--from {url} needs {what}.")


def target_settings(reach: Reach, secret_file: str | None = None, name: str = NAME):
    url = reach.url
    parts = urlsplit(url)
    if parts.scheme == "sftp":
        if not parts.hostname or not parts.username or not parts.path.strip("/"):
            raise BackupError(f"--from {url}: an SFTP target is sftp://USER@HOST[:PORT]/PATH.")
        if not reach.host_key:
            raise _missing("--host-key 'TYPE BASE64' (the server's pinned host key, e.g. from the recovery kit)", url)
        if not reach.ssh_key:
            raise _missing("--ssh-key FILE (the SSH private key of the target's user)", url)
        return SftpTargetSettings(name=name, kind="sftp", host=parts.hostname, port=parts.port or 22,
                                  user=unquote(parts.username), key_file=str(Path(reach.ssh_key).resolve()),
                                  host_key=_host_key(reach.host_key), path=unquote(parts.path), medium="restore")
    if parts.scheme == "s3":
        if not parts.hostname:
            raise BackupError(f"--from {url}: an S3 target is s3://BUCKET/PREFIX.")
        if not reach.access_key_id:
            raise _missing("--access-key-id ID", url)
        if not secret_file:
            raise _missing("--secret-key-file FILE or --secret-key-stdin", url)
        return S3TargetSettings(name=name, kind="s3", endpoint=reach.endpoint or None, bucket=parts.hostname,
                                prefix=unquote(parts.path).strip("/"), region=reach.region,
                                access_key_id=reach.access_key_id, secret_access_key_file=secret_file,
                                medium="restore", offsite=True)
    if parts.scheme in ("", "file"):
        folder = Path(unquote(parts.path) if parts.scheme else url).resolve()
        return LocalTargetSettings(name=name, kind="local", path=str(folder), medium="restore")
    raise BackupError(f"--from {url}: use sftp://USER@HOST:PORT/PATH, s3://BUCKET/PREFIX or a folder.")


def _host_key(line: str) -> str:
    """Accepts `ssh-keyscan` output as it comes ("[host]:port ssh-ed25519 AAAA…") or just "TYPE BASE64"."""
    fields = line.split()
    for i, f in enumerate(fields):
        if f.startswith(("ssh-", "ecdsa-")) and i + 1 < len(fields):
            return f"{f} {fields[i + 1]}"
    raise BackupError("--host-key takes the server's key as 'TYPE BASE64' (e.g. ssh-ed25519 AAAA…).")


@contextmanager
def opened(reach: Reach, settings: Settings) -> Iterator[Target]:
    """The target, open for the duration; a secret read from stdin lives in a 0600 file meanwhile."""
    secret_file, temporary = reach.secret_key_file, None
    if reach.secret_key is not None:
        folder = settings.path(settings.backup.staging_dir)
        folder.mkdir(mode=0o700, parents=True, exist_ok=True)
        temporary = folder / f".s3-secret-{secrets.token_hex(4)}"
        fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as f:
            f.write(reach.secret_key + "\n")
        secret_file = str(temporary)
    elif secret_file:
        secret_file = str(Path(secret_file).resolve())
    target = build(target_settings(reach, secret_file), settings)
    try:
        yield target
    finally:
        target.close()
        if temporary is not None:
            temporary.unlink(missing_ok=True)


def same_place(reach: Reach, configured, home: Path | None = None) -> bool:
    """Whether a configured target is the one the command line reached (to name it as the config does)."""
    try:
        given = target_settings(reach, secret_file="-")
    except BackupError:
        return False
    if given.kind != configured.kind:
        return False
    if given.kind == "sftp":
        return (given.host, given.port, given.path.rstrip("/")) == (configured.host, configured.port,
                                                                  configured.path.rstrip("/"))
    if given.kind == "s3":
        return (given.bucket, given.prefix.strip("/")) == (configured.bucket, configured.prefix.strip("/"))
    folder = Path(configured.path)
    return Path(given.path) == (folder if folder.is_absolute() else Path(home or ".") / folder).resolve()
