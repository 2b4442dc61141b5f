"""The `recovery_kit` check warns (runbook box-lost) while the kit of the current backup key and targets
has never been exported, is ok after `appliance backup kit`, and warns again once a target or the key
changes."""
from __future__ import annotations

import base64
import secrets

from appliance import config
from backup import kit
from monitors import engine
from monitors.checks import catalog, config_for
from tests.backup.helpers import local_target, write_targets

from .monitor_helpers import override


def _reload(home, settings):
    return config.load(home, environ={"APPLIANCE_DATABASE_URL": settings.database.url})


def _run(current):
    override(current, "recovery_kit", confirm_count=1)
    return engine.run_check("recovery_kit", current)


def test_the_check_warns_before_the_first_export_and_after_a_target_or_the_key_changes(home, settings, db, tmp_path):
    check = catalog()["recovery_kit"]
    assert check.group == "recovery" and config_for(check, settings).runbook == "box-lost"
    nas = {"name": "nas", "kind": "sftp", "host": "192.0.2.10", "user": "backup", "key_file": "keys/nas_ed25519",
           "host_key": "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIKit", "path": "/srv/backups/shop1", "medium": "nas"}
    write_targets(home, [local_target("local", "backups"), nas])
    current = _reload(home, settings)

    before = _run(current)
    assert before.state == "warn" and "never exported" in before.reason

    kit.export(current, tmp_path)
    after = _run(current)
    assert after.state == "ok", after.reason

    write_targets(home, [local_target("local", "backups"), nas | {"host": "192.0.2.11"}])
    moved = _run(_reload(home, settings))
    assert moved.state == "warn" and "backup targets changed" in moved.reason

    kit.export(_reload(home, settings), tmp_path)
    assert _run(_reload(home, settings)).state == "ok"

    (home / "keys" / "backup.key").write_text(base64.urlsafe_b64encode(secrets.token_bytes(32)).decode() + "\n")
    rekeyed = _run(_reload(home, settings))
    assert rekeyed.state == "warn" and "backup key changed" in rekeyed.reason


def test_an_unreadable_backup_key_is_a_warning_that_names_it(home, settings, db):
    (home / "keys" / "backup.key").unlink()
    result = _run(settings)
    assert result.state == "warn" and "backup key" in result.reason
