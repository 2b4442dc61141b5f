"""`python -m failover.service run` (the lease holder's systemd unit) takes the lease and writes the
box's permit like `appliance failover run`, without loading what it does not use: the command line
(click, cli), the web, the monitors and runbooks, requests and etcd3gw, the database layer (peewee)
and the backup package's replica code (cryptography, zstandard). Those cost ~30 MB resident in a
process that runs all day on both boxes (issue 12: the pair's extra memory); a promotion imports the
replica code then."""
from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from tests.failover.pair import ROOT, make_box
from tests.servers.etcd import etcd_cluster  # noqa: F401

pytestmark = pytest.mark.slow

# Runs the holder as its unit does (failover.service.main) and, once the box may write, writes the
# modules it has loaded and stops it with SIGTERM, as systemd does.
HOLDER_THAT_LISTS_ITS_MODULES = """
import json, os, signal, sys, threading, time
from pathlib import Path
from appliance import fencing
from failover import service

home = Path(os.environ["APPLIANCE_HOME"])

def list_modules_once_writing():
    while True:
        permit = fencing.read_permit(home)
        if permit is not None and permit.refusal() is None:
            break
        time.sleep(0.02)
    (home / "modules.json").write_text(json.dumps(sorted(sys.modules)))
    os.kill(os.getpid(), signal.SIGTERM)

threading.Thread(target=list_modules_once_writing, daemon=True).start()
sys.exit(service.main(["run"]))
"""

NOT_NEEDED = ("click", "cli", "web", "monitors", "runbooks", "peewee", "cryptography", "zstandard", "requests",
              "etcd3gw", "backup.replication", "backup.sealed_replica")


def test_the_lean_lease_holder_holds_the_lease_and_loads_nothing_it_does_not_use(tmp_path, etcd_cluster):  # noqa: F811
    box = make_box(tmp_path, "box-a", etcd_cluster.endpoints, "primary", "/lean-holder/")
    env = {**os.environ, "APPLIANCE_HOME": str(box.home), "PYTHONPATH": str(ROOT)}
    done = subprocess.run([sys.executable, "-c", HOLDER_THAT_LISTS_ITS_MODULES], env=env, cwd=ROOT,
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    modules = json.loads((box.home / "modules.json").read_text())
    assert "failover.holder" in modules and "failover.quorum" in modules
    loaded = [m for m in modules if any(m == name or m.startswith(name + ".") for name in NOT_NEEDED)]
    assert loaded == []
    # SIGTERM: it stopped writing and gave the lease back
    assert box.permit().refusal() is not None and box.state()["holding"] is False


def test_the_lean_entry_point_refuses_a_box_without_failover_like_the_command_line(tmp_path):
    box = make_box(tmp_path, "box-a", ["http://127.0.0.1:1"], "primary", "/lean-holder/")
    config = box.home / "appliance.toml"
    config.write_text(config.read_text().replace("enabled = true", "enabled = false"))
    env = {**os.environ, "APPLIANCE_HOME": str(box.home), "PYTHONPATH": str(ROOT)}
    done = subprocess.run([sys.executable, "-m", "failover.service", "run"], env=env, cwd=ROOT,
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 1
    assert "Failover is not enabled on this box" in done.stderr
