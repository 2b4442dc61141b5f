"""`backup list --target NAME` reads what the target holds from its manifests, not from this box's
catalog: a target with backups of two boxes shows both (id, time, box, lineage, counts, verified),
each marked (this box, the lineage a plain restore takes); `--json` says the same."""
from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner

from cli import main
from tests.conftest import make_home

from .helpers import local_target, write_targets


def appliance(home: Path, *args: str):
    result = CliRunner().invoke(main, ["--home", str(home), *args], catch_exceptions=False,
                                env={"APPLIANCE_HOME": str(home), "APPLIANCE_DATABASE_URL": None})
    assert result.exit_code == 0, result.output
    return result.output


def test_a_target_with_backups_of_two_boxes_lists_both_marked(shop, configure, home, tmp_path):
    disk = tmp_path / "disk"
    configure(local_target("disk", disk))
    ours = appliance(home, "backup", "run", "--quiet").split()[1]
    appliance(home, "backup", "verify", "--quiet")
    spare = make_home(tmp_path / "spare")
    (spare / "keys" / "backup.key").write_bytes((home / "keys" / "backup.key").read_bytes())
    write_targets(spare, [local_target("disk", disk)])
    appliance(spare, "restore", "--quiet")
    theirs = appliance(spare, "backup", "run", "--quiet").split()[1]
    our_box, their_box = (json.loads((h / "keys" / "box.json").read_text()) for h in (home, spare))

    listed = json.loads(appliance(home, "backup", "list", "--target", "disk", "--json"))

    assert [b["backup_id"] for b in listed["backups"]] == [theirs, ours]  # newest first
    by_id = {b["backup_id"]: b for b in listed["backups"]}
    assert (by_id[ours]["box_id"], by_id[ours]["lineage"], by_id[ours]["this_box"]) == (
        our_box["box_id"], our_box["lineage"], True)
    assert (by_id[theirs]["box_id"], by_id[theirs]["lineage"], by_id[theirs]["this_box"]) == (
        their_box["box_id"], their_box["lineage"], False)
    assert by_id[theirs]["parent_lineage"] == our_box["lineage"]
    assert by_id[ours]["verified"] == "ok" and by_id[theirs]["verified"] == "unknown"
    assert by_id[ours]["counts"]["orders"] == 12 and by_id[ours]["manifest"] == "ok"
    assert listed["restore_default_lineage"] == our_box["lineage"] and by_id[ours]["restore_default"]

    text = appliance(home, "backup", "list", "--target", "disk").splitlines()
    ours_line = next(line for line in text if line.startswith(ours))
    theirs_line = next(line for line in text if line.startswith(theirs))
    assert f"box {our_box['box_id']}" in ours_line and "this box" in ours_line and "verified ok" in ours_line
    assert f"box {their_box['box_id']}" in theirs_line and "this box" not in theirs_line
    assert f"lineage {their_box['lineage']}" in theirs_line and "orders=12" in theirs_line
