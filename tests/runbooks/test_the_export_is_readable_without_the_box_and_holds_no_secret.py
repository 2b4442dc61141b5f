"""`appliance runbook export` writes every runbook as a self-contained page (and Markdown) with this
box's facts — targets, hosts, paths, where the key must come from — and never a secret; after a
backup the pages are put beside the backups on every target (not again while unchanged), and
retention never takes them for a backup."""
from __future__ import annotations

from click.testing import CliRunner

from appliance import config, operations
from backup.targets import backups_on, open_targets
from cli import main
from runbooks.loader import LIBRARY
from tests.backup.helpers import ACCESS_KEY, SECRET_KEY, local_target, s3_target, sftp_target, write_targets


def _box(home, tmp_path, sshd_server, s3_server):
    write_targets(home, [local_target("disk", tmp_path / "disk"), sftp_target("nas", sshd_server, "shop"),
                         s3_target("offsite", s3_server, s3_server.new_bucket(), home)])
    return config.load(home)


def _secrets(home, sshd_server) -> list[str]:
    key = (home / "keys" / "backup.key").read_text().strip()
    ssh_key = sshd_server.client_key.read_text().splitlines()[1]  # a line of the private key itself
    return [key, ssh_key, SECRET_KEY, ACCESS_KEY]


def test_the_pages_hold_the_boxs_facts_and_no_secret(home, db, tmp_path, sshd_server, s3_server):
    _box(home, tmp_path, sshd_server, s3_server)
    out = tmp_path / "export"

    result = CliRunner().invoke(main, ["--home", str(home), "runbook", "export", "--output", str(out)])
    markdown = CliRunner().invoke(main, ["--home", str(home), "runbook", "export", "--output", str(tmp_path / "md"),
                                         "--format", "md"])

    assert result.exit_code == 0 and markdown.exit_code == 0, result.output + markdown.output
    box_lost = (out / "box-lost.html").read_text()
    assert f"{sshd_server.user}@127.0.0.1:{sshd_server.port}" in box_lost
    assert "bucket" in box_lost and "keys/backup.key" in box_lost and "never drilled" in box_lost
    assert "appliance backup key export" in box_lost and "<li id='" in box_lost
    texts = [p.read_text() for p in [*out.iterdir(), *(tmp_path / "md").iterdir()]]
    assert len(texts) == 2 * (len(list(LIBRARY.glob("*.yaml"))) + 1)  # every runbook and an index, in each format
    for secret in _secrets(home, sshd_server):
        assert not any(secret in text for text in texts)


def test_a_backup_puts_the_pages_on_every_target_once_and_prune_leaves_them(home, db, tmp_path, sshd_server,
                                                                          s3_server):
    settings = _box(home, tmp_path, sshd_server, s3_server)
    backup = lambda: operations.execute(settings, "backup.run", actor=operations.SCHEDULER,  # noqa: E731
                                        source="schedule", show_progress=False)

    first = backup()
    for target in open_targets(settings):
        keys = target.list()
        assert "runbooks/box-lost.html" in keys and "runbooks/index.html" in keys, target.name
        assert backups_on(keys) == ([first.backup_id], [])
        target.close()
    sent = {t.name: t.stat("runbooks/index.html").modified for t in open_targets(settings)}

    backup()
    assert {t.name: t.stat("runbooks/index.html").modified for t in open_targets(settings)} == sent

    report = operations.execute(settings, "backup.prune", actor=operations.SCHEDULER, source="schedule")
    assert report.deleted == [] and all("runbooks/box-lost.html" in t.list() for t in open_targets(settings))
