"""`failover status` on a box that reaches no etcd member answers at once, exit 0: no member
reachable, the quorum error in one line, and the box fenced (its lease holder has not run)."""
import json
import os
import subprocess
import sys

from tests.failover.pair import ROOT, failover_toml
from tests.servers.ports import free_port


def test_status_with_no_member_reachable(home):
    endpoints = [f"http://127.0.0.1:{free_port()}" for _ in range(3)]
    with open(home / "appliance.toml", "a") as f:
        f.write(failover_toml("box-a", endpoints, "primary", "/status/"))
    done = subprocess.run([sys.executable, "-m", "cli", "failover", "status", "--json"], cwd=ROOT, capture_output=True,
                          text=True, timeout=60, env={**os.environ, "APPLIANCE_HOME": str(home)})
    assert done.returncode == 0, done.stderr
    shown = json.loads(done.stdout)
    assert shown["members_reachable"] == 0
    assert all(state.startswith("unreachable") for state in shown["members"].values())
    assert "no etcd member answered" in shown["quorum_error"] and "\n" not in shown["quorum_error"]
    assert (shown["role"], shown["fenced"], shown["lease_holder"]) == ("standby", True, None)
    assert "has not run" in shown["fenced_reason"]
