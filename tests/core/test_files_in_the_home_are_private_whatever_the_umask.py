"""What the box writes into its home is its owner's alone, also outside systemd (UMask=0077): under the
usual umask 022, `appliance init` and the database make folders 0700 and files 0600 — appliance.toml
may hold a PostgreSQL password, the database holds the customers."""
from __future__ import annotations

import os
import stat
from contextlib import contextmanager
from pathlib import Path

from click.testing import CliRunner

from appliance import config, runtime
from appliance.inventory import create_product, receive
from appliance.models import Order
from appliance.orders import LineRequest, create_order
from cli import main


@contextmanager
def umask(mask: int):
    before = os.umask(mask)
    try:
        yield
    finally:
        os.umask(before)


def mode(path: Path) -> str:
    return oct(stat.S_IMODE(os.stat(path).st_mode))


def test_init_and_the_database_make_folders_0700_and_files_0600_under_umask_022(tmp_path):
    home = tmp_path / "box"
    with umask(0o022):
        result = CliRunner().invoke(main, ["--home", str(home), "init", "--admin-password-stdin"],
                                    input="a long shop-owner passphrase\n")
        assert result.exit_code == 0, result.output
        runtime.close()
        settings = config.load(home)
        runtime.connect(settings)
        try:
            create_product({"sku": "TEA", "name": "Tea", "price_cents": 350}, "test")
            receive("TEA", 5, "test")
            create_order(settings, channel="store", lines=[LineRequest("TEA", 1)], actor="test")
            assert Order.select().count() == 1
            # While the database is open: SQLite removes -wal and -shm when the last connection closes.
            files = {name: mode(home / name) for name in
                     ("appliance.toml", "appliance.db", "appliance.db-wal", "appliance.db-shm",
                      "appliance.db-writer.lock")}
        finally:
            runtime.close()

    assert files == dict.fromkeys(files, "0o600")
    keys = {path.name: mode(path) for path in (home / "keys").iterdir()}
    assert {"secret.key", "backup.key"} <= set(keys)
    assert keys == dict.fromkeys(keys, "0o600")
    folders = {str(path.relative_to(tmp_path)): mode(path)
               for path in (home, *(p for p in home.iterdir() if p.is_dir()))}
    assert {"box", "box/keys", "box/backups", "box/logs", "box/run"} <= set(folders)
    assert folders == dict.fromkeys(folders, "0o700")


def test_a_new_sqlite_database_is_0600_wherever_it_is_opened(tmp_path):
    elsewhere = tmp_path / "data"
    elsewhere.mkdir()
    home = tmp_path / "box"
    with umask(0o022):
        assert CliRunner().invoke(main, ["--home", str(home), "init", "--admin-password-stdin",
                                         "--database-url", f"sqlite:///{elsewhere}/shop.db"],
                                  input="a long shop-owner passphrase\n").exit_code == 0
        runtime.close()

    assert mode(elsewhere / "shop.db") == "0o600"
    assert mode(home / "appliance.toml") == "0o600"


def test_an_existing_home_folder_keeps_its_mode(tmp_path):
    home = tmp_path / "box"
    home.mkdir(mode=0o750)
    os.chmod(home, 0o750)  # as deploy/install.sh leaves /var/lib/appliance
    with umask(0o022):
        assert CliRunner().invoke(main, ["--home", str(home), "init", "--admin-password-stdin"],
                                  input="a long shop-owner passphrase\n").exit_code == 0
        runtime.close()

    assert mode(home) == "0o750"
    assert mode(home / "keys") == mode(home / "logs") == "0o700"
    assert mode(home / "appliance.db") == "0o600"
