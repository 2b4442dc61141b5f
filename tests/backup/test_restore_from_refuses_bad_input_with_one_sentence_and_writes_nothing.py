"""`restore --from` on bad input: one sentence, exit 1, no traceback, and nothing written into the
home — a wrong backup key, a home that already has a config (without --force), an SFTP target
without its pinned host key, an unknown kind of URL."""
from __future__ import annotations

import base64
import os
from pathlib import Path

from click.testing import CliRunner

from cli import main

from .helpers import local_target


def attempt(home: Path, *args: str):
    result = CliRunner().invoke(main, ["--home", str(home), "restore", *args, "--quiet"],
                                env={"APPLIANCE_HOME": str(home), "APPLIANCE_DATABASE_URL": None})
    assert result.exit_code == 1, result.output
    assert "Traceback" not in result.output and len(result.output.strip().splitlines()) == 1, result.output
    return result.output


def test_bad_input_is_one_sentence_and_the_home_stays_empty(shop, configure, cli, home, tmp_path):
    disk = tmp_path / "disk"
    configure(local_target("disk", disk))
    assert cli("backup", "run", "--quiet").exit_code == 0
    wrong_key = tmp_path / "wrong.key"
    wrong_key.write_text(base64.urlsafe_b64encode(os.urandom(32)).decode() + "\n")
    right_key = home / "keys" / "backup.key"
    empty = tmp_path / "empty"

    said = attempt(empty, "--from", str(disk), "--key-file", str(wrong_key))
    assert "backup key" in said
    said = attempt(empty, "--from", "sftp://backup@127.0.0.1:2222/srv/backups", "--ssh-key", str(wrong_key),
                   "--key-file", str(right_key))
    assert "--host-key" in said
    said = attempt(empty, "--from", "ftp://127.0.0.1/backups", "--key-file", str(right_key))
    assert "sftp://" in said
    assert not empty.exists() or not any(empty.rglob("appliance.toml"))

    said = attempt(home, "--from", str(disk), "--key-file", str(right_key))
    assert "--force" in said and not list(home.glob("appliance.toml.before-restore-*"))
