"""`appliance restore --from URL …`: one command that rebuilds a box from a target on an empty home.

It reads the target named on the command line (backup/connect.py) with the backup key, picks the
backup as a plain restore would (lineage, --backup-id, --as-of), unseals the config that backup
carries (backup/carried.py) and writes appliance.toml, the secret key, the target secrets and the
backup key into the home, then restores the database that config names. `appliance serve` then
works with no other step. On a home that already has a config or a database (a box just installed),
--force is needed; what it replaces is kept aside as NAME.before-restore-STAMP.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from appliance import config

from . import carried, connect, keys
from . import restore as restoring
from .errors import NothingToRestore, RestoreRefused


@dataclass
class Rebuilt:
    report: restoring.RestoreReport | None   # None with config_only
    written: list[str] = field(default_factory=list)
    target_name: str = connect.NAME


def rebuild(home: Path, reach: connect.Reach, key: keys.BackupKey, *, backup_id: str | None = None,
            as_of: datetime | None = None, lineage: str | None = None, force: bool = False,
            sandbox: bool = False, show_progress: bool = True, full_check: bool = False,
            config_only: bool = False) -> Rebuilt:
    """`config_only`: put back appliance.toml and the keys only (the box-lost runbook restores the
    database in its own step)."""
    home = Path(home)
    if (home / config.CONFIG_FILE).exists() and not force:
        raise RestoreRefused(f"{home} already has {config.CONFIG_FILE}: add --force to replace its config, keys "
                             "and database with the backup's (the old ones are kept aside), or use an empty home.")
    home.mkdir(mode=0o700, parents=True, exist_ok=True)
    before = config.load(home, require_file=False)
    with connect.opened(reach, before) as target:
        skipped: list[str] = []
        holders = restoring._complete_backups([target], skipped)
        if not holders:
            raise NothingToRestore(f"No backup was found on {reach.url}; nothing was changed."
                                   + (f" ({skipped[0]})" if skipped else ""))
        whose = restoring.survey(before, holders, key, skipped)
        if not whose:  # no manifest could be read: the wrong backup key, or every copy damaged
            restoring._give_up(backup_id, as_of, skipped)
        if backup_id:
            chosen, reason, others = (whose.get(backup_id) or {}).get("lineage") or "", "the backup asked for", []
            candidates = [backup_id] if backup_id in whose else []
        else:
            chosen, reason, others = restoring.choose_lineage(whose, lineage, None)
            in_lineage = {b: h for b, h in holders.items() if b in whose and (whose[b]["lineage"] or "") == chosen}
            candidates = restoring._candidates(in_lineage, None, as_of, None)
        candidates = [b for b in candidates if whose[b]["manifest"].get("carried")]
        if not candidates:
            raise NothingToRestore(
                f"No backup on {reach.url} carries the box's config (backups made before it did need "
                "appliance.toml and the keys put back by hand, then `appliance restore`); nothing was changed.")
        chosen_id = candidates[0]
        manifest = whose[chosen_id]["manifest"]
        bundle = carried.unseal(manifest["carried"], key, f"backup {chosen_id} on {reach.url}")
        written = carried.install(home, bundle, key)
        settings = config.load(home)
        name = next((t.name for t in settings.backup.targets if connect.same_place(reach, t, home)), connect.NAME)
        target.name = name
        if config_only:
            return Rebuilt(None, written, name)
        report = restoring.restore(settings, backup_id=chosen_id, force=force, show_progress=show_progress,
                                   full_check=full_check, sandbox=sandbox, targets=[target], key=key)
    report.lineage_reason, report.other_lineages = reason, others
    report.newest_available = None
    report.skipped = skipped + report.skipped
    return Rebuilt(report, written, name)
