"""`appliance init` gives the box its id and first lineage (keys/box.json, private), says them, keeps
them when run again, and the box's backups name them; `backup identity` shows them."""
from __future__ import annotations

import json
import os
import stat

from click.testing import CliRunner

from appliance import runtime
from backup import manifest as mf
from cli import main

from .helpers import local_target, write_targets


def test_init_makes_the_box_id_and_lineage_and_backups_name_them(tmp_path):
    home = tmp_path / "box"

    def appliance(*args: str, input: str | None = None) -> str:
        result = CliRunner().invoke(main, ["--home", str(home), *args], input=input, catch_exceptions=False,
                                    env={"APPLIANCE_HOME": str(home), "APPLIANCE_DATABASE_URL": None})
        assert result.exit_code == 0, result.output
        return result.output

    try:
        said = appliance("init", "--admin-password-stdin", input="a long shop-owner passphrase\n")
        box = json.loads((home / "keys" / "box.json").read_text())
        assert stat.S_IMODE(os.stat(home / "keys" / "box.json").st_mode) == 0o600
        assert f"box {box['box_id']}, lineage {box['lineage']}" in said
        assert box["parent_lineage"] is None and not box["sandbox"]

        appliance("init")  # again: nothing changes
        assert json.loads((home / "keys" / "box.json").read_text()) == box
        assert appliance("backup", "identity").startswith(f"box {box['box_id']}, lineage {box['lineage']}")

        write_targets(home, [local_target("disk", tmp_path / "disk")])
        backup_id = appliance("backup", "run", "--quiet").split()[1]
        manifest = json.loads((tmp_path / "disk" / backup_id / mf.MANIFEST_NAME).read_text())
        assert (manifest["box_id"], manifest["lineage"], manifest["sandbox"]) == (box["box_id"], box["lineage"], False)
    finally:
        runtime.close()
