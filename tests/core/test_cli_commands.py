"""The CLI: init creates a working home, users and tokens, one-line errors with a non-zero exit."""
import os
import stat

from click.testing import CliRunner

from appliance import accounts, config, runtime
from cli import main
from appliance.models import Order, User


def _run(home, *args, input=None):
    return CliRunner().invoke(main, ["--home", str(home), *args], input=input)


def test_init_creates_config_keys_database_and_an_admin(tmp_path):
    home = tmp_path / "box"
    result = _run(home, "init", "--admin-password-stdin", input="a long shop-owner passphrase\n")
    assert result.exit_code == 0, result.output
    assert (home / "appliance.toml").exists() and (home / "appliance.db").exists()
    for key in ("keys/secret.key", "keys/backup.key"):
        assert stat.S_IMODE(os.stat(home / key).st_mode) == 0o600
    assert accounts.authenticate("admin", "a long shop-owner passphrase", 5, 15).role == "admin"
    runtime.close()


def test_init_twice_keeps_keys_and_users(tmp_path):
    home = tmp_path / "box"
    _run(home, "init", "--admin-password-stdin", input="a long shop-owner passphrase\n")
    key = (home / "keys" / "backup.key").read_bytes()
    again = _run(home, "init")
    assert again.exit_code == 0 and "already exists" in again.output
    assert (home / "keys" / "backup.key").read_bytes() == key
    runtime.close()


def test_init_demo_loads_a_shop_and_prints_logins(tmp_path):
    home = tmp_path / "box"
    result = _run(home, "init", "--demo")
    assert result.exit_code == 0, result.output
    assert "one-time password" in result.output
    assert result.output.count("demo user:") == 3
    kept = (home / "demo-logins.txt")
    assert stat.S_IMODE(os.stat(kept).st_mode) == 0o600
    assert kept.read_text().count("demo user:") == 3
    assert Order.select().count() > 20
    from appliance import audit, inventory
    assert inventory.ledger_mismatches() == []
    assert audit.verify().ok
    runtime.close()


def test_a_new_home_backs_up_to_its_local_folder_out_of_the_box(tmp_path):
    home = tmp_path / "box"
    assert _run(home, "init", "--admin-password-stdin", input="a long shop-owner passphrase\n").exit_code == 0
    runtime.close()

    result = _run(home, "backup", "run", "--quiet")

    assert result.exit_code == 0, result.output
    assert "stored on local" in result.output
    assert list((home / "backups").glob("*/manifest.json"))
    status = _run(home, "backup", "status")
    assert "3-2-1 NOT met: 1 copies, 1 media, 0 offsite" in status.output  # honest: one disk only
    runtime.close()


def test_user_add_reads_the_password_from_stdin(home, db):
    result = _run(home, "user", "add", "carol", "--role", "manager", "--password-stdin", input="manager passphrase 7\n")
    assert result.exit_code == 0, result.output
    assert User.get(User.username == "carol").role == "manager"
    listed = _run(home, "user", "list")
    assert "carol\tmanager\tactive" in listed.output


def test_token_create_prints_the_token_as_its_last_line(home, db):
    result = _run(home, "token", "create", "--name", "till-1", "--role", "staff")
    assert result.exit_code == 0
    token = result.stdout.strip().splitlines()[-1]
    assert accounts.token_for(token).role == "staff"


def test_failures_are_one_line_with_exit_status_1(home, db):
    result = _run(home, "user", "add", "xavier", "--role", "staff", "--password-stdin", input="short\n")
    assert result.exit_code == 1
    assert result.output.strip().count("\n") == 0
    assert "at least" in result.output


def test_a_bad_config_stops_every_command_naming_the_setting(home):
    (home / config.CONFIG_FILE).write_text("[server]\nport = 'x'\n")
    result = _run(home, "user", "list")
    assert result.exit_code == 1
    assert "server.port" in result.output
