"""`python -m failover.service follow` (the standby's follower, its systemd unit) keeps the standby copy
current from an SFTP replica without loading what it does not use: the database layer and the models
(peewee, psycopg2), the restore and backup code (zstandard, backup.restore, backup.snapshot), the
replication's supervisor, the other kinds of target (S3: boto3), the command line (click) and the web
(flask), nor invoke (paramiko's, for ssh_config files it never reads). Those cost ~15 MB resident in a
process that runs all day on the standby (issue 12: the pair's extra memory). It loads the SFTP
target, paramiko with it, because its replica is on SFTP."""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys

import pytest

from appliance import config, fencing
from backup import replication

from tests.backup.conftest import make_shop
from tests.backup.helpers import sftp_target, write_targets
from tests.backup.replication_helpers import caught_up, replication_options
from tests.failover.pair import ROOT, failover_toml
from tests.servers.sshd import sshd_server  # noqa: F401
from tests.servers.waiting import wait_for

pytestmark = pytest.mark.slow

# Runs the follower as its unit does (failover.service.main) and, once Litestream's follow mode has
# applied the replica to the copy (every import of a pass has happened by then), writes the modules it
# has loaded and stops it with SIGTERM, as systemd does.
FOLLOWER_THAT_LISTS_ITS_MODULES = """
import json, os, signal, sys, threading, time
from pathlib import Path
from failover import service

home = Path(os.environ["APPLIANCE_HOME"])

def list_modules_once_applied():
    while True:
        try:
            if json.loads((home / "run" / "standby.json").read_text()).get("applied_txid") is not None:
                break
        except (OSError, ValueError):
            pass
        time.sleep(0.05)
    loaded = [name for name, module in list(sys.modules.items()) if module is not None]  # None: refused
    (home / "modules.json").write_text(json.dumps(sorted(loaded)))
    os.kill(os.getpid(), signal.SIGTERM)

threading.Thread(target=list_modules_once_applied, daemon=True).start()
sys.exit(service.main(["follow"]))
"""

NOT_NEEDED = ("peewee", "playhouse", "psycopg2", "zstandard", "boto3", "botocore", "click", "flask", "cli", "web", "invoke",
              "monitors", "runbooks", "appliance.db", "appliance.models", "backup.restore", "backup.snapshot",
              "backup.archive", "backup.verify", "backup.models", "backup.targets.s3",
              "backup.replication.restoring", "backup.replication.supervisor", "backup.replication.state")


def standby_home(primary_home, tmp_path):
    """box-b of a pair: the primary's [backup] section and key, failover on, and a permit that refuses
    writes (what its lease holder writes while the other box holds the lease)."""
    b_home = tmp_path / "box-b"
    b_home.mkdir()
    shutil.copytree(primary_home / "keys", b_home / "keys")
    (b_home / config.CONFIG_FILE).write_text((primary_home / config.CONFIG_FILE).read_text()
                                             + failover_toml("box-b", ["http://127.0.0.1:1"], "standby", "/lean-follow/"))
    fencing.write_permit(b_home, fencing.Permit(False, 0.0, fencing.boot_id(), 1, "box-b", "box-a holds the lease"))
    return b_home


def test_the_lean_follower_applies_the_replica_and_loads_nothing_it_does_not_use(
        settings, db, home, sshd_server, tmp_path):  # noqa: F811
    make_shop(settings, n_orders=2)
    write_targets(home, [sftp_target("nas", sshd_server, "lean-follow")], replication_options("nas"))
    primary = config.load(home, environ={"APPLIANCE_DATABASE_URL": settings.database.url})
    supervisor = replication.Supervisor(primary).start()
    try:
        wait_for(lambda: caught_up(primary), what="the primary's first sync")
        b_home = standby_home(home, tmp_path)
        env = {**os.environ, "APPLIANCE_HOME": str(b_home), "PYTHONPATH": str(ROOT),
               "APPLIANCE_DATABASE_URL": "sqlite:///appliance.db"}
        done = subprocess.run([sys.executable, "-c", FOLLOWER_THAT_LISTS_ITS_MODULES], env=env, cwd=ROOT,
                              capture_output=True, text=True, timeout=90)
    finally:
        supervisor.stop()
    assert done.returncode == 0, done.stderr
    modules = json.loads((b_home / "modules.json").read_text())
    assert {"failover.standby", "backup.sealed_replica", "backup.targets.sftp", "paramiko"} <= set(modules)
    loaded = [m for m in modules if any(m == name or m.startswith(name + ".") for name in NOT_NEEDED)]
    assert loaded == []
    # SIGTERM: it stopped following and said so
    assert json.loads((b_home / "run" / "standby.json").read_text())["following"] is False
