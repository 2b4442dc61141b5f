"""The backup package's scratch folder (`backup.staging_dir`): snapshots being made, copies being
checked, replicas being restored. Its own module so that run, verify, restore and replication share
it without importing one another."""
from __future__ import annotations

from pathlib import Path

from appliance.config import Settings


def staging_dir(settings: Settings) -> Path:
    return settings.path(settings.backup.staging_dir)
