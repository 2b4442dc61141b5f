"""`backup status`: per backup, its copies and whether 3 copies / 2 media / 1 offsite hold; RPO age."""
from __future__ import annotations

from .helpers import local_target, s3_target, sftp_target


def test_status_shows_3_2_1_met_with_disk_nas_and_cloud_copies(shop, configure, cli, home, tmp_path,
                                                               sshd_server, s3_server):
    configure(local_target("disk", tmp_path / "disk"), sftp_target("nas", sshd_server, "status"),
              s3_target("offsite", s3_server, s3_server.new_bucket(), home))
    assert cli("backup", "run", "--quiet").exit_code == 0

    out = cli("backup", "status").output

    assert "3-2-1 ok: 3 copies, 3 media, 1 offsite" in out
    assert "RPO 60 s met" in out


def test_status_says_what_is_missing_when_copies_are_onsite_on_one_medium(shop, configure, cli, tmp_path):
    configure(local_target("a", tmp_path / "a"), local_target("b", tmp_path / "b"))
    assert cli("backup", "run", "--quiet").exit_code == 0

    out = cli("backup", "status").output

    assert "3-2-1 NOT met: 2 copies, 1 media, 0 offsite (needs 3 copies, 2 media, an offsite copy)" in out


def test_status_reports_a_failed_copy_and_no_restorable_backup_when_none_exists(settings, db, configure, cli):
    configure(local_target("a", "/proc/cannot-write-here"))
    assert "newest restorable backup: none" in cli("backup", "status").output
    result = cli("backup", "run", "--quiet")
    assert result.exit_code == 1 and "missed 1 target" in result.output
    out = cli("backup", "status").output
    assert "a            failed" in out and "newest restorable backup: none" in out


def test_the_monitors_read_per_target_facts_after_a_run_and_a_verify(shop, configure, tmp_path):
    from backup.run import run_backup
    from backup.status import monitor_facts
    from backup.verify import verify
    settings = configure(local_target("a", tmp_path / "a"), local_target("b", "/proc/no", medium="usb"))
    run_backup(settings, show_progress=False)
    verify(settings, show_progress=False)

    facts = monitor_facts(settings)

    a, b = facts["targets"]
    assert a["last_success_at"] and a["last_size_bytes"] > 0 and a["last_verify_ok"] is True
    assert b["last_success_at"] is None and b["last_verified_at"] is None
    assert facts["rule_321"] == {"ok": False, "reason": "1 copies, 1 media, 0 offsite (needs 3 copies, 2 media, an offsite copy)"}
