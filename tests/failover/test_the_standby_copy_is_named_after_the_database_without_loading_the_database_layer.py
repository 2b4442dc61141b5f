"""failover.standby finds the database's file (the copy's name, the promotion's target) the way
backup.replication.config.database_path does, for relative, absolute and quoted SQLite URLs and through
a symlink, without loading the database layer: the lease holder imports the module and runs all day."""
from __future__ import annotations

import os
import subprocess
import sys

from appliance import config
from backup.replication.config import database_path
from failover import standby
from tests.failover.pair import ROOT


def test_database_file_agrees_with_database_path(tmp_path):
    home = tmp_path / "home"
    home.mkdir()
    (tmp_path / "real.db").write_bytes(b"")
    os.symlink(tmp_path / "real.db", home / "linked.db")
    for url in ("sqlite:///appliance.db", "sqlite:///data/shop%20one.db", f"sqlite:///{tmp_path}/abs.db",
                "sqlite:///linked.db"):
        settings = config.validate({"database": {"url": url}}, home)
        assert standby.database_file(settings) == database_path(settings), url


def test_importing_the_standby_module_loads_no_database_layer_nor_replica_code():
    listed = subprocess.run([sys.executable, "-c", "import sys, failover.standby; print(' '.join(sys.modules))"],
                            cwd=ROOT, capture_output=True, text=True, timeout=60, env={**os.environ, "PYTHONPATH": str(ROOT)})
    modules = set(listed.stdout.split())
    assert "failover.standby" in modules
    assert not modules & {"peewee", "cryptography", "zstandard", "backup.replication", "backup.sealed_replica"}
