"""After `appliance restore` into the home's database, the command says what to do next (sign in with
the restored users' passwords, rotate tokens and passwords, make a first backup), and until that first
backup `backup status` says where the database was restored from and that the first backup is pending,
instead of "newest restorable backup: none … RPO NOT met" (it still does not claim the RPO is met).
A restore elsewhere (--output) changes neither. Real processes, as an admin would type them."""
from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path

from tests.durability.served import APPLIANCE, REPO

from .helpers import local_target


def appliance(home: Path, *args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "APPLIANCE_HOME": str(home)}
    env.pop("APPLIANCE_DATABASE_URL", None)
    result = subprocess.run(APPLIANCE + ["--home", str(home), *args], capture_output=True, text=True,
                            env=env, cwd=REPO, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr
    return result


def test_a_restore_says_what_to_do_next_and_status_says_first_backup_pending(shop, configure, home, tmp_path):
    configure(local_target("disk", tmp_path / "disk"))
    backup_id = appliance(home, "backup", "run", "--quiet").stdout.split()[1]

    restored = appliance(home, "restore", "--force", "--quiet").stdout

    assert f"restored backup {backup_id} from disk" in restored
    steps = restored[restored.index("next steps:"):]
    assert len(restored.splitlines()) <= 24  # one screen
    for command in ("appliance token list", "appliance token revoke", "appliance user passwd",
                    "appliance backup run"):
        assert command in steps, steps
    assert "restored users' own passwords" in steps and "`appliance init` on this box does not work" in steps
    assert "appliance init`: makes the missing" not in steps  # the secret key is there

    status = appliance(home, "backup", "status").stdout.splitlines()[0]
    assert re.fullmatch(rf"restored from backup {backup_id} on disk at \d{{4}}-\d\d-\d\d \d\d:\d\d:\d\d UTC; "
                        r"first backup pending .*RPO 60 s not met until it is made", status), status
    assert "none" not in status and "NOT met" not in status

    first = appliance(home, "backup", "run", "--quiet").stdout.split()[1]
    status = appliance(home, "backup", "status").stdout.splitlines()[0]
    assert status.startswith(f"newest restorable backup: {first}, age ") and status.endswith("RPO 60 s met"), status


def test_a_restore_elsewhere_prints_no_steps_and_leaves_status_alone(shop, configure, home, tmp_path):
    configure(local_target("disk", tmp_path / "disk"))
    backup_id = appliance(home, "backup", "run", "--quiet").stdout.split()[1]

    restored = appliance(home, "restore", "--output", str(tmp_path / "copy.db"), "--quiet").stdout

    assert f"restored backup {backup_id} from disk" in restored and "next steps" not in restored
    assert not (home / "run" / "restored.json").exists()
    status = appliance(home, "backup", "status").stdout.splitlines()[0]
    assert status.startswith(f"newest restorable backup: {backup_id}, age "), status


def test_on_a_home_without_its_secret_key_the_first_step_is_init(shop, configure, home, tmp_path):
    configure(local_target("disk", tmp_path / "disk"))
    appliance(home, "backup", "run", "--quiet")
    (home / "keys" / "secret.key").unlink()  # a new box: the key never travels with a backup

    restored = appliance(home, "restore", "--force", "--quiet").stdout

    first = restored[restored.index("next steps:"):].splitlines()[1]
    assert first.startswith("  1. `appliance init`: makes the missing secret.key and keeps the restored database"), first
