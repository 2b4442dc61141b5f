"""Every backup names its box and lineage; a box restored from the shop's backup backs up under a new
lineage (its parent: the shop's), so when the shop goes on backing up, a fresh restore still takes
the shop's lineage, and says so; `--lineage` takes the other; a backup made before backups named
their box still restores; a sandbox restore makes no backups. Real processes, as an admin types them."""
from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner

from backup import keys
from backup import manifest as mf
from cli import main
from tests.conftest import make_home

from .helpers import local_target, write_targets


def appliance(home: Path, *args: str, ok: bool = True):
    """In-process (a process each would take seconds here), each box with its own home and database."""
    result = CliRunner().invoke(main, ["--home", str(home), *args], catch_exceptions=False,
                                env={"APPLIANCE_HOME": str(home), "APPLIANCE_DATABASE_URL": None})
    assert (result.exit_code == 0) == ok, result.output
    return result


def backup_run(home: Path) -> str:
    return appliance(home, "backup", "run", "--quiet").stdout.split()[1]


def manifest(disk: Path, backup_id: str) -> dict:
    return json.loads((disk / backup_id / mf.MANIFEST_NAME).read_text())


def box(home: Path) -> dict:
    return json.loads((home / "keys" / "box.json").read_text())


def another_box(tmp_path: Path, name: str, shop_home: Path, disk: Path) -> Path:
    other = make_home(tmp_path / name)
    (other / "keys" / "backup.key").write_bytes((shop_home / "keys" / "backup.key").read_bytes())
    write_targets(other, [local_target("disk", disk)])
    return other


def test_a_restored_box_backs_up_under_a_new_lineage_and_a_fresh_restore_takes_the_shops(shop, configure, home, tmp_path):
    disk = tmp_path / "disk"
    configure(local_target("disk", disk))
    a1 = backup_run(home)
    shop_box = box(home)
    assert manifest(disk, a1)["box_id"] == shop_box["box_id"] and manifest(disk, a1)["lineage"] == shop_box["lineage"]

    spare = another_box(tmp_path, "spare", home, disk)  # a test restore on a spare machine
    restored = appliance(spare, "restore", "--quiet").stdout
    assert f"took lineage {shop_box['lineage']} of box {shop_box['box_id']}" in restored, restored
    spare_box = box(spare)
    assert (f"this box: {spare_box['box_id']}, lineage {spare_box['lineage']} (restored from backup {a1} "
            f"of lineage {shop_box['lineage']})") in appliance(spare, "backup", "status").stdout
    assert spare_box["parent_lineage"] == shop_box["lineage"] and spare_box["lineage"] != shop_box["lineage"]
    assert spare_box["box_id"] != shop_box["box_id"]

    a2 = backup_run(home)       # the shop lives on
    s1 = backup_run(spare)      # the spare's backup is now the newest on the target
    assert s1 > a2 and manifest(disk, s1)["lineage"] == spare_box["lineage"]
    assert manifest(disk, s1)["parent_lineage"] == shop_box["lineage"]

    fresh = another_box(tmp_path, "fresh", home, disk)
    out = appliance(fresh, "restore", "--quiet").stdout
    assert f"restored backup {a2} from disk" in out, out
    assert f"took lineage {shop_box['lineage']}" in out and f"{spare_box['lineage']} (box {spare_box['box_id']})" in out
    assert "branch of" in out

    other = appliance(fresh, "restore", "--force", "--quiet", "--lineage", spare_box["lineage"][:5]).stdout
    assert f"restored backup {s1} from disk" in other and "the lineage asked for" in other

    # the shop's own box restores its own lineage, and a restore gives it a new one whose parent it was
    own = appliance(home, "restore", "--force", "--quiet").stdout
    assert f"restored backup {a2} from disk" in own and "this box's own lineage" in own
    assert box(home)["box_id"] == shop_box["box_id"] and box(home)["parent_lineage"] == shop_box["lineage"]


def test_a_backup_made_before_backups_named_their_box_still_lists_and_restores(shop, configure, home, tmp_path):
    disk = tmp_path / "disk"
    configure(local_target("disk", disk))
    old = backup_run(home)
    # as an older appliance wrote it: no box, lineage or carried config (signed again, as it would be)
    key = keys.load(home / "keys" / "backup.key")
    fields = {k: v for k, v in manifest(disk, old).items()
              if k not in ("box_id", "lineage", "parent_lineage", "lineage_since", "restored_from", "sandbox",
                           "carries", "carried", "hmac")}
    (disk / old / mf.MANIFEST_NAME).write_bytes(mf.dumps(mf.sign(fields, key)))

    listed = json.loads(appliance(home, "backup", "list", "--target", "disk", "--json").stdout)
    assert [(b["backup_id"], b["box_id"], b["lineage"]) for b in listed["backups"]] == [(old, None, None)]

    out = appliance(home, "restore", "--force", "--quiet").stdout
    assert f"restored backup {old} from disk" in out and "made before backups named their box" in out


def test_a_sandbox_restore_makes_no_backups_until_adopted(shop, configure, home, tmp_path):
    disk = tmp_path / "disk"
    configure(local_target("disk", disk))
    backup_run(home)
    trial = another_box(tmp_path, "trial", home, disk)
    appliance(trial, "restore", "--sandbox", "--quiet")
    before = sorted(p.name for p in disk.iterdir())

    refused = appliance(trial, "backup", "run", "--quiet", ok=False)
    assert "sandbox" in refused.stderr and "Traceback" not in refused.stderr
    assert len(refused.stderr.strip().splitlines()) == 1
    assert sorted(p.name for p in disk.iterdir()) == before

    assert "SANDBOX" in appliance(trial, "backup", "identity").stdout
    assert "SANDBOX: makes no backups" in appliance(trial, "backup", "status").stdout
    appliance(trial, "backup", "identity", "--adopt")
    assert backup_run(trial) not in before
