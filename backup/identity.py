"""Whose a backup is: the box that made it and the lineage (the life of its database) it continues.

`keys/box.json` in the home holds the box id (made once, at `appliance init` or at the first backup
of a box older than this file), the lineage, the lineage it was restored from (its parent) and
whether the box is a sandbox. Every restore into the home's database starts a new lineage whose
parent is the restored backup's lineage, so a restored box never silently continues another box's
history: the backups it makes afterwards are told apart from those of the box it was restored from,
which may still be alive (a test restore on a spare machine). A box restored with `--sandbox` marks
its backups as a sandbox's and does not back up at all until it is adopted (`appliance backup
identity --adopt`). The file is not carried in backups: a box restored elsewhere is another box.
"""
from __future__ import annotations

import json
import os
import secrets
from dataclasses import asdict, dataclass
from pathlib import Path

from appliance.config import Settings
from appliance.models import utcnow

from .manifest import new_backup_id

IDENTITY_FILE = "keys/box.json"


@dataclass
class Identity:
    box_id: str
    lineage: str
    parent_lineage: str | None = None
    restored_from: str | None = None   # "backup <id>" the lineage began with, if any
    sandbox: bool = False
    since: str = ""                    # when this lineage began, as a backup id (sorts with them)

    def manifest_fields(self) -> dict:
        return {"box_id": self.box_id, "lineage": self.lineage, "parent_lineage": self.parent_lineage,
                "lineage_since": self.since, "restored_from": self.restored_from, "sandbox": self.sandbox}


def _new_id() -> str:
    return secrets.token_hex(4)


def path(settings: Settings) -> Path:
    return settings.path(IDENTITY_FILE)


def load(settings: Settings) -> Identity | None:
    try:
        data = json.loads(path(settings).read_text())
        return Identity(**{k: data.get(k) for k in Identity.__dataclass_fields__ if k in data})
    except (OSError, ValueError, TypeError):
        return None


def _save(settings: Settings, identity: Identity) -> Identity:
    target = path(settings)
    target.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    tmp = target.with_name(f".{target.name}.{os.getpid()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        os.fchmod(fd, 0o600)
        f.write(json.dumps(asdict(identity), indent=2) + "\n")
    os.replace(tmp, target)
    return identity


def ensure(settings: Settings) -> Identity:
    """This box's identity, made (new box id, new lineage) if the home has none yet."""
    return load(settings) or _save(settings, Identity(box_id=_new_id(), lineage=_new_id(),
                                                      since=new_backup_id(utcnow())))


def after_restore(settings: Settings, parent_lineage: str | None, restored_from: str,
                  sandbox: bool = False) -> Identity:
    """A restore into the home's database: same box (a new one if the home had none), new lineage."""
    current = load(settings)
    return _save(settings, Identity(box_id=current.box_id if current else _new_id(), lineage=_new_id(),
                                    parent_lineage=parent_lineage, restored_from=restored_from,
                                    sandbox=sandbox, since=new_backup_id(utcnow())))


def adopt(settings: Settings) -> Identity:
    """A sandbox becomes a box that backs up (to the targets in its config)."""
    identity = ensure(settings)
    identity.sandbox = False
    return _save(settings, identity)
