"""/ops backups panel, from a real backup made by the backup package on local targets in a temporary
folder: newest backup first, its copy on each target with the verification state, whether 3-2-1
holds, and the age of the newest restorable copy against the RPO (red when older)."""
from __future__ import annotations

import re
from datetime import timedelta

import pytest

from appliance import config
from appliance.models import utcnow
from backup.models import BackupSet
from backup.run import run_backup
from backup.verify import verify
from tests.backup.helpers import local_target, write_targets


@pytest.fixture
def settings(home, tmp_path, database_url):
    """The shop's config with three local targets: a second disk, a USB stick, and one that cannot be written."""
    write_targets(home, [local_target("disk", tmp_path / "disk"),
                         local_target("usb", tmp_path / "usb", medium="usb"),
                         local_target("broken", "/proc/cannot-write-here")])
    return config.load(home, environ={"APPLIANCE_DATABASE_URL": database_url})


def copy_cell(body: str, backup_id: str, target: str) -> str:
    row = re.search(rf'<tr data-backup="{backup_id}">(.*?)</tr>', body, re.S)
    assert row, f"no row for {backup_id}"
    cell = re.search(rf'<td class="copy" data-target="{target}">(.*?)</td>', row[1], re.S)
    assert cell, f"no cell for {target}"
    return " ".join(cell[1].split())


def backups_panel(body: str) -> str:
    return body[body.index('data-panel="Backups"') - 80: body.index('data-panel="Runbooks and drills"')]


def test_each_copy_of_a_real_backup_is_shown_per_target_with_its_verification(admin, settings, make_product):
    make_product("TEA")
    first = run_backup(settings, show_progress=False).backup_id
    second = run_backup(settings, show_progress=False).backup_id
    verify(settings, target="disk", show_progress=False)

    body = backups_panel(admin.get("/ops").get_data(as_text=True))

    assert body.index(second) < body.index(first)                       # newest first
    assert "verified" in copy_cell(body, second, "disk")
    assert "stored, unverified" in copy_cell(body, second, "usb")
    assert "failed" in copy_cell(body, second, "broken")
    assert "2 copies, 2 media, 0 offsite (needs 3 copies, an offsite copy)" in body
    assert re.search(r'id="backup-freshness" class="ok-text">\s*<code>' + second, body)
    assert "RPO 60 s met" in " ".join(body.split())
    assert 'panel-warn wide' in body and "does not meet the 3-2-1 rule" in body
    assert "The 2 newest of 2 backups." in " ".join(body.split())


def test_a_newest_copy_older_than_the_rpo_is_red(admin, settings, make_product):
    make_product("TEA")
    backup_id = run_backup(settings, show_progress=False).backup_id
    BackupSet.update(created_at=utcnow() - timedelta(hours=2)).execute()

    body = " ".join(backups_panel(admin.get("/ops").get_data(as_text=True)).split())

    assert f'id="backup-freshness" class="crit-text"> <code>{backup_id}</code>, 2 h 0 min old · RPO 60 s NOT met' in body
    assert "panel-crit wide" in body and "older than the RPO" in body


def test_with_no_backup_yet_the_panel_says_so(admin, settings):
    body = " ".join(backups_panel(admin.get("/ops").get_data(as_text=True)).split())

    assert "There is no restorable backup yet." in body and "panel-crit wide" in body
    assert "No backup has been made yet" in body


def test_right_after_a_restore_the_panel_asks_for_the_first_backup_instead_of_alarming(admin, settings, make_product):
    from backup.restore import record_restored
    make_product("TEA")
    record_restored(settings, "backup 20261122T153000Z-ab12", "disk", at=utcnow() - timedelta(minutes=3))

    body = admin.get("/ops").get_data(as_text=True)

    panel = body[body.index('data-panel="Backups"') - 80:]
    assert "panel-warn" in panel[:200]
    assert "Restored from backup 20261122T153000Z-ab12 on disk at" in panel
    assert "the first backup is pending" in panel
