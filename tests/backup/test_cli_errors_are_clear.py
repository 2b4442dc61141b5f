"""Through the command line: wrong key, missing key, truncated payload, newer format and an existing
database give one-line reasons and a non-zero exit, and nothing is overwritten."""
from __future__ import annotations

import base64
import json
import os

from .helpers import local_target, sqlite_counts


def _backed_up(shop, configure, cli, tmp_path, name="disk"):
    configure(local_target(name, tmp_path / name))
    result = cli("backup", "run", "--quiet")
    assert result.exit_code == 0, result.output
    return result.output.split()[1]  # "backup <id> stored on …"


def test_restore_with_the_wrong_key_says_so_and_leaves_the_database_alone(shop, configure, cli, home, tmp_path):
    _backed_up(shop, configure, cli, tmp_path)
    (home / "keys" / "backup.key").write_text(base64.urlsafe_b64encode(os.urandom(32)).decode() + "\n")
    before = (home / "appliance.db").read_bytes()

    result = cli("restore", "--force", "--quiet")

    assert result.exit_code == 1
    assert "was made with backup key" in result.output and len(result.output.strip().splitlines()) == 1
    assert (home / "appliance.db").read_bytes() == before


def test_restore_without_a_key_file_says_where_to_get_it(shop, configure, cli, home, tmp_path):
    _backed_up(shop, configure, cli, tmp_path)
    (home / "keys" / "backup.key").unlink()
    result = cli("restore", "--output", str(tmp_path / "new.db"))
    assert result.exit_code == 1 and "No backup key" in result.output and "key export" in result.output
    assert not (tmp_path / "new.db").exists()


def test_a_truncated_payload_fails_verify_with_a_clear_reason(shop, configure, cli, tmp_path):
    backup_id = _backed_up(shop, configure, cli, tmp_path)
    payload = tmp_path / "disk" / backup_id / "payload.zst.aes"
    payload.write_bytes(payload.read_bytes()[:-100])

    result = cli("backup", "verify", "--quiet")

    assert result.exit_code == 1 and "truncated" in result.output
    restore = cli("restore", "--output", str(tmp_path / "new.db"), "--quiet")
    assert restore.exit_code == 1 and "No good copy" in restore.output and "nothing was changed" in restore.output
    assert not (tmp_path / "new.db").exists()


def test_a_manifest_from_a_newer_format_asks_for_an_upgrade(shop, configure, cli, tmp_path):
    backup_id = _backed_up(shop, configure, cli, tmp_path)
    manifest_file = tmp_path / "disk" / backup_id / "manifest.json"
    manifest = json.loads(manifest_file.read_text())
    manifest["format"] = 99
    manifest_file.write_text(json.dumps(manifest))

    result = cli("restore", "--output", str(tmp_path / "new.db"), "--quiet")

    assert result.exit_code == 1 and "format 99" in result.output and "upgrade" in result.output


def test_restore_refuses_an_existing_database_unless_forced_and_keeps_the_old_one(
        shop, configure, cli, home, tmp_path):
    backup_id = _backed_up(shop, configure, cli, tmp_path)
    refused = cli("restore", "--quiet")
    assert refused.exit_code == 1 and "--force" in refused.output

    forced = cli("restore", "--force", "--quiet")

    assert forced.exit_code == 0, forced.output
    assert f"restored backup {backup_id} from disk" in forced.output and "orders=12" in forced.output
    assert sqlite_counts(home / "appliance.db")["orders"] == 12
    assert list(home.glob("appliance.db.before-restore-*"))


def test_key_export_prints_a_key_that_restores_on_a_new_box(shop, configure, cli, home, tmp_path):
    _backed_up(shop, configure, cli, tmp_path)
    exported = cli("backup", "key", "export").output
    key_line = [ln for ln in exported.splitlines() if ln and not ln.startswith("#")][0]
    (home / "keys" / "backup.key").write_text(key_line + "\n")  # as typed back in on a new box
    result = cli("restore", "--output", str(tmp_path / "new.db"), "--quiet")
    assert result.exit_code == 0, result.output
