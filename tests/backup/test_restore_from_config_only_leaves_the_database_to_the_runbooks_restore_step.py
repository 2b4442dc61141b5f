"""`restore --from DIR --config-only` (the box-lost runbook's way): on an empty home it puts back
appliance.toml and the keys the newest backup carries, not the database; the runbook's restore step
(`appliance restore --target NAME`) then finds the targets in that config and restores the database."""
from __future__ import annotations

from pathlib import Path

from click.testing import CliRunner

from cli import main

from .helpers import local_target


def appliance(home: Path, *args: str) -> str:
    result = CliRunner().invoke(main, ["--home", str(home), *args], catch_exceptions=False,
                                env={"APPLIANCE_HOME": str(home), "APPLIANCE_DATABASE_URL": None})
    assert result.exit_code == 0, result.output
    return result.output


def test_config_only_puts_back_config_and_keys_and_the_restore_step_does_the_rest(shop, configure, cli, home, tmp_path):
    disk = tmp_path / "disk"
    configure(local_target("disk", disk))
    backup_id = cli("backup", "run", "--quiet").output.split()[1]
    new = tmp_path / "new"

    said = appliance(new, "restore", "--from", str(disk), "--key-file", str(home / "keys" / "backup.key"),
                     "--config-only", "--quiet")

    assert "config and keys put back from disk" in said and "restore --target disk --force" in said
    assert (new / "appliance.toml").read_text() == (home / "appliance.toml").read_text()
    for key in ("keys/secret.key", "keys/backup.key"):
        assert (new / key).read_bytes() == (home / key).read_bytes()
    assert not (new / "appliance.db").exists()

    restored = appliance(new, "restore", "--target", "disk", "--quiet")
    assert f"restored backup {backup_id} from disk" in restored and (new / "appliance.db").exists()
