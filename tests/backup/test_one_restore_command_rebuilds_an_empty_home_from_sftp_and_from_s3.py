"""From an empty home, with only the recovery kit's facts, one `appliance restore --from …` command
(real sshd, real S3) brings back the config, the keys and the database; the box then starts and takes
an order whose number goes on from the last one, and `backup run` works to every target. The config
travels sealed: no secret of the box is in clear on a target. `backup list --from` reads the target
on the empty home too."""
from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from appliance import accounts, config, orders
from appliance.commandline import CliContext
from appliance.models import Order
from cli import main
from cli.serve_cmd import check_start
from cli.wiring import extra_models, extra_steps
from tests.servers.s3 import ACCESS_KEY, SECRET_KEY
from web import create_app

from .helpers import local_target, s3_target, sftp_target


def appliance(home: Path, *args: str, input: str | None = None):
    result = CliRunner().invoke(main, ["--home", str(home), *args], input=input, catch_exceptions=False,
                                env={"APPLIANCE_HOME": str(home), "APPLIANCE_DATABASE_URL": None})
    assert result.exit_code == 0, result.output
    return result


def files_under(folder: Path) -> list[Path]:
    return [p for p in folder.rglob("*") if p.is_file()]


@pytest.fixture
def shop_backed_up(shop, configure, home, tmp_path, sshd_server, s3_server):
    bucket = s3_server.new_bucket()
    settings = configure(local_target("disk", tmp_path / "disk"), sftp_target("nas", sshd_server, "kit-restore"),
                         s3_target("offsite", s3_server, bucket, home))
    _, till_token = accounts.create_token("till", "staff", "test")
    last = max(o.id for o in Order.select())  # numbers are the prefix + the id
    backup_id = appliance(home, "backup", "run", "--quiet").output.split()[1]
    key_file = tmp_path / "kit-backup.key"  # the key line off the printed kit
    key_file.write_text(appliance(home, "backup", "key", "export").output)
    return {"settings": settings, "bucket": bucket, "token": till_token, "last": last, "backup_id": backup_id,
            "key_file": key_file}


def from_sftp(sshd_server, shop: dict) -> list[str]:
    scanned = f"[127.0.0.1]:{sshd_server.port} {sshd_server.host_key}"  # `ssh-keyscan -p PORT` as it prints
    return ["--from", f"sftp://{sshd_server.user}@127.0.0.1:{sshd_server.port}{sshd_server.root / 'kit-restore'}",
            "--host-key", scanned, "--ssh-key", str(sshd_server.client_key), "--key-file", str(shop["key_file"])]


def from_s3(s3_server, shop: dict) -> list[str]:
    return ["--from", f"s3://{shop['bucket']}/shop1", "--endpoint", s3_server.endpoint,
            "--access-key-id", ACCESS_KEY, "--secret-key-stdin", "--key-file", str(shop["key_file"])]


@pytest.mark.parametrize("kind", ["sftp", "s3"])
def test_one_command_on_an_empty_home_brings_the_box_back_and_it_takes_the_next_order(
        kind, shop_backed_up, home, tmp_path, sshd_server, s3_server):
    shop = shop_backed_up
    new_home = tmp_path / f"new-{kind}"  # does not even exist yet
    args = from_sftp(sshd_server, shop) if kind == "sftp" else from_s3(s3_server, shop)
    stdin = SECRET_KEY + "\n" if kind == "s3" else None

    listed = json.loads(appliance(new_home, "backup", "list", *args, "--json", input=stdin).output)
    assert [b["backup_id"] for b in listed["backups"]] == [shop["backup_id"]]
    assert listed["backups"][0]["carries_config"] and not (new_home / config.CONFIG_FILE).exists()

    out = appliance(new_home, "restore", *args, "--quiet", input=stdin).output

    name = "nas" if kind == "sftp" else "offsite"
    assert f"restored backup {shop['backup_id']} from {name}" in out, out
    for kept in ("keys/secret.key", "keys/s3.secret"):
        assert (new_home / kept).read_bytes() == (home / kept).read_bytes()
    assert (new_home / "keys" / "carried" / sshd_server.client_key.name).read_bytes() == sshd_server.client_key.read_bytes()
    assert (new_home / "keys" / "backup.key").read_text().strip() in shop["key_file"].read_text()
    assert "appliance init`: makes the missing" not in out  # nothing is missing

    settings = check_start(CliContext(str(new_home), extra_models, extra_steps))  # what `serve` checks first
    client = create_app(settings).test_client()
    answer = client.post("/api/v1/orders", headers={"Authorization": f"Bearer {shop['token']}"},
                         json={"channel": "phone", "lines": [{"sku": "SKU-1", "qty": 1}]})
    assert answer.status_code == 201, answer.get_data(as_text=True)
    assert answer.get_json()["number"] == orders.own_number(settings, shop["last"] + 1)

    after = appliance(new_home, "backup", "run", "--quiet").output
    assert "stored on disk, nas, offsite" in after, after


def test_the_config_travels_sealed_and_no_secret_is_in_clear_on_a_target(shop_backed_up, home, tmp_path,
                                                                        sshd_server, s3_server):
    secrets = [(home / "keys" / "secret.key").read_bytes(), SECRET_KEY.encode(),
               sshd_server.client_key.read_bytes().strip().splitlines()[1]]  # a line of the private key
    on_targets = files_under(tmp_path / "disk") + files_under(sshd_server.root / "kit-restore")
    client = s3_server.client()
    bodies = [p.read_bytes() for p in on_targets] + [
        client.get_object(Bucket=shop_backed_up["bucket"], Key=o["Key"])["Body"].read()
        for o in client.list_objects_v2(Bucket=shop_backed_up["bucket"]).get("Contents", [])]
    assert len(bodies) >= 6  # the backup on each target (and the runbooks published beside them)
    for body in bodies:
        for secret in secrets:
            assert secret not in body
    manifest = json.loads((tmp_path / "disk" / shop_backed_up["backup_id"] / "manifest.json").read_text())
    assert manifest["carries"] == ["appliance.toml", "keys/secret.key", f"keys/carried/{sshd_server.client_key.name}",
                                   "keys/s3.secret"]
    assert b"[backup]" not in json.dumps(manifest).encode()
