"""Retention applies to each lineage on a target apart (restic's --group-by host): a second box
backing up into the shop's folder — a copy restored for a test, the box that replaced a dead one —
never pushes the shop's own generations out of their count; each lineage keeps the generations the
policy asks for, whichever box prunes."""
from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path

from click.testing import CliRunner

from appliance import clock
from backup.targets import backups_on
from cli import main
from tests.conftest import make_home

from .helpers import local_target, write_targets

KEEP_TWO = {"keep_last": 2, "keep_daily": 0, "keep_weekly": 0, "keep_monthly": 0}
START = datetime(2026, 3, 2, 8, 0)


def appliance(home: Path, *args: str) -> str:
    result = CliRunner().invoke(main, ["--home", str(home), *args], catch_exceptions=False,
                                env={"APPLIANCE_HOME": str(home), "APPLIANCE_DATABASE_URL": None})
    assert result.exit_code == 0, result.output
    return result.output


def backup_at(home: Path, hour: int) -> str:
    with clock.shifted_to(START + timedelta(hours=hour)):
        return appliance(home, "backup", "run", "--quiet").split()[1]


def on_disk(disk: Path) -> set[str]:
    complete, _ = backups_on([str(p.relative_to(disk)) for p in disk.rglob("*") if p.is_file()])
    return set(complete)


def test_the_shops_prune_keeps_its_last_two_and_the_other_lineages_last_two(shop, configure, home, tmp_path):
    disk = tmp_path / "disk"
    configure(local_target("disk", disk, retention=KEEP_TWO))
    ours = [backup_at(home, hour) for hour in (1, 2, 3)]
    spare = make_home(tmp_path / "spare")
    (spare / "keys" / "backup.key").write_bytes((home / "keys" / "backup.key").read_bytes())
    write_targets(spare, [local_target("disk", disk, retention=KEEP_TWO)])
    with clock.shifted_to(START + timedelta(hours=3, minutes=30)):
        appliance(spare, "restore", "--quiet")
    theirs = [backup_at(spare, hour) for hour in (4, 5, 6)]

    appliance(home, "backup", "prune")

    # Newest first across both boxes would have kept only the spare's 5 and 6 and deleted all of ours.
    assert on_disk(disk) == set(ours[1:]) | set(theirs[1:])

    appliance(spare, "backup", "prune")

    assert on_disk(disk) == set(ours[1:]) | set(theirs[1:])
