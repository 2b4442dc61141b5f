"""`appliance backup kit` prints and writes one sheet (HTML and text) with the backup key, how to reach
each target, where the other secrets live (by path, never their content) and the commands for a new
box; the export is recorded, and the /ops backups panel says whether the kit is current."""
from __future__ import annotations

import base64
import re
import secrets
import stat
from html.parser import HTMLParser
from pathlib import Path

from appliance import config
from backup import kit
from backup.panel import backups_panel

from .helpers import local_target

HOST_KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIKitTestHostKeyOnlyForThisSheet0123456789ab"
SSH_KEY_BODY = "b3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQKITTESTSSHPRIVATEKEYMATERIAL"
S3_SECRET = "kitTestS3SecretAccessKey/DoNotPrint+0123456789"
SMTP_PASSWORD = "kit-test-smtp-password-9876"
DB_PASSWORD = "kitTestDbPassword"


def _shop_targets(home: Path) -> list[dict]:
    (home / "keys" / "nas_ed25519").write_text(
        f"-----BEGIN OPENSSH PRIVATE KEY-----\n{SSH_KEY_BODY}\n-----END OPENSSH PRIVATE KEY-----\n")
    (home / "keys" / "s3.secret").write_text(S3_SECRET + "\n")
    (home / "keys" / "smtp.password").write_text(SMTP_PASSWORD + "\n")
    return [
        local_target("local", "backups"),
        {"name": "nas", "kind": "sftp", "host": "192.0.2.10", "port": 2222, "user": "backup",
         "key_file": "keys/nas_ed25519", "host_key": HOST_KEY, "path": "/srv/backups/shop1", "medium": "nas"},
        {"name": "offsite", "kind": "s3", "endpoint": "https://s3.example.com", "bucket": "shop1-backups",
         "prefix": "shop1", "region": "eu-central-1", "access_key_id": "AKIAKITTEST123",
         "secret_access_key_file": "keys/s3.secret", "medium": "cloud", "offsite": True},
    ]


def _configure_shop(home: Path, configure) -> None:
    configure(*_shop_targets(home))
    with (home / config.CONFIG_FILE).open("a") as f:
        f.write('\n[monitors.smtp]\nhost = "mail.example.com"\nusername = "alerts"\n'
                'password_file = "keys/smtp.password"\n')


class _Structure(HTMLParser):
    def __init__(self):
        super().__init__()
        self.tags, self.open, self.text = [], [], []

    def handle_starttag(self, tag, attrs):
        self.tags.append(tag)
        if tag not in ("meta", "br"):
            self.open.append(tag)

    def handle_endtag(self, tag):
        assert self.open and self.open[-1] == tag, f"</{tag}> closes {self.open[-1:]}"
        self.open.pop()

    def handle_data(self, data):
        self.text.append(data)


def test_the_kit_holds_the_key_the_targets_and_the_commands_and_no_other_secret(home, db, configure, cli, tmp_path):
    _configure_shop(home, configure)
    key_line = (home / "keys" / "backup.key").read_text().strip()
    out = tmp_path / "kit"

    result = cli("backup", "kit", "--output", str(out))

    assert result.exit_code == 0, result.output
    html_text = (out / kit.HTML_NAME).read_text()
    text = (out / kit.TEXT_NAME).read_text()
    assert text in result.output  # printed as written
    for sheet in (text, html_text, result.output):
        assert key_line in sheet
        assert "keep it offline" in sheet.lower()
        for fact in ("192.0.2.10", "2222", "/srv/backups/shop1", HOST_KEY, "shop1-backups",
                     "https://s3.example.com", "eu-central-1", "AKIAKITTEST123", "shop1"):
            assert fact in sheet, fact
        # where the other secrets live, by path and purpose
        for path in ("keys/nas_ed25519", "keys/s3.secret", "keys/smtp.password"):
            assert path in sheet
        # never their content, nor another key
        for secret in (SSH_KEY_BODY, S3_SECRET, SMTP_PASSWORD, "BEGIN OPENSSH PRIVATE KEY"):
            assert secret not in sheet
        signing_key = base64.urlsafe_b64encode((home / "keys" / "secret.key").read_bytes()).decode()
        assert signing_key not in sheet and (home / "keys" / "secret.key").read_bytes().hex() not in sheet
    # the three commands, as they work today
    assert "sudo ./deploy/install.sh" in text
    assert (f"appliance restore --from sftp://backup@192.0.2.10:2222/srv/backups/shop1 --host-key '{HOST_KEY}' "
            "--ssh-key /var/lib/appliance/kit-nas.key --key-file /var/lib/appliance/kit-backup.key --force") in text
    assert ("--from s3://shop1-backups/shop1 --endpoint https://s3.example.com --region eu-central-1 "
            "--access-key-id AKIAKITTEST123 --secret-key-file /var/lib/appliance/kit-offsite.secret") in text
    assert "sudo systemctl start appliance" in text
    assert "/var/lib/appliance/appliance.toml" in text  # the fallback for backups that carry no config
    # the [backup] block parses and holds the targets as they are configured
    import tomllib
    block = text.split("[backup] block for appliance.toml:", 1)[1]
    parsed = tomllib.loads("\n".join(line[4:] for line in block.splitlines()))
    assert [t["name"] for t in parsed["backup"]["targets"]] == ["local", "nas", "offsite"]
    assert parsed["backup"]["targets"][1]["host_key"] == HOST_KEY
    # the key is bold and the files are private
    assert re.search(r"<strong>[^<]*BACKUP KEY[^<]*</strong>", html_text)
    for name in (kit.HTML_NAME, kit.TEXT_NAME):
        assert stat.S_IMODE((out / name).stat().st_mode) == 0o600


def test_the_html_sheet_opens_as_a_self_contained_file(home, db, configure, cli, tmp_path):
    _configure_shop(home, configure)
    cli("backup", "kit", "--output", str(tmp_path))
    page = (tmp_path / kit.HTML_NAME).read_text()

    assert page.startswith("<!DOCTYPE html>")
    parser = _Structure()
    parser.feed(page)
    parser.close()
    assert parser.open == []  # every element closed in order
    assert {"html", "head", "title", "style", "body", "h1", "table", "ol", "pre"} <= set(parser.tags)
    assert not re.search(r"<(script|link|img|iframe)\b", page)  # nothing to fetch: opens offline
    assert not re.search(r"(src|href)=", page)
    assert "nas" in "".join(parser.text)


def test_a_postgresql_password_is_named_never_shown(home, settings, db, configure):
    configured = configure(*_shop_targets(home))
    configured.database.url = f"postgresql://shop:{DB_PASSWORD}@db.example.com:5432/shop"

    sheet = kit.build(configured)

    assert DB_PASSWORD not in sheet.text() and DB_PASSWORD not in sheet.html()
    assert "PostgreSQL password of shop@db.example.com" in sheet.text()


def test_the_backups_panel_says_whether_the_kit_is_current(home, db, configure, tmp_path):
    configured = configure(*_shop_targets(home))
    assert dict(backups_panel(configured).rows)["Recovery kit"].startswith("NOT current")

    kit.export(configured, tmp_path)
    assert dict(backups_panel(configured).rows)["Recovery kit"].startswith("current")

    (home / "keys" / "backup.key").write_text(base64.urlsafe_b64encode(secrets.token_bytes(32)).decode() + "\n")
    row = dict(backups_panel(configured).rows)["Recovery kit"]
    assert row.startswith("NOT current") and "backup key changed" in row


def test_init_ends_by_asking_for_the_kit(tmp_path):
    from click.testing import CliRunner

    from cli import main
    result = CliRunner().invoke(main, ["init"], env={"APPLIANCE_HOME": str(tmp_path / "new")})
    assert result.exit_code == 0, result.output
    assert "appliance backup kit" in result.output.strip().splitlines()[-1]
