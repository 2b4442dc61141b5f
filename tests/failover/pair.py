"""Two boxes of a pair for the failover tests: homes in temp folders, each with its own lease holder
process (`appliance failover run`) against a real etcd cluster (tests/servers/etcd.py)."""
from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from appliance import fencing
from tests.conftest import make_home
from tests.servers.freezing import freeze
from tests.servers.waiting import wait_for

ROOT = Path(__file__).resolve().parents[2]

# Fast but safe timings: 0.5 x (2 + 1) + 1.0 = 2.5 s < 3 s. A box stops writing 2 s after its last
# confirmed renewal was sent; its lease lives at least 3 s after that.
TTL, RENEW, RETRIES, MARGIN = 3, 0.5, 2, 1.0


def failover_toml(name: str, endpoints: list[str], role: str, prefix: str, **timings) -> str:
    t = {"lease_ttl_seconds": TTL, "renew_interval_seconds": RENEW, "retries": RETRIES,
         "fence_margin_seconds": MARGIN, **timings}
    return ("\n[failover]\nenabled = true\n"
            f"name = {json.dumps(name)}\nrole = {json.dumps(role)}\nkey_prefix = {json.dumps(prefix)}\n"
            f"etcd_endpoints = {json.dumps(endpoints)}\n"
            + "".join(f"{k} = {v}\n" for k, v in t.items()))


@dataclass
class Box:
    name: str
    home: Path
    process: subprocess.Popen | None = None

    def start(self) -> "Box":
        env = {**os.environ, "APPLIANCE_HOME": str(self.home), "PYTHONPATH": str(ROOT)}
        # the lease holder as its systemd unit runs it (failover/service.py; `appliance failover run` calls the same)
        self.process = subprocess.Popen([sys.executable, "-m", "failover.service", "run"], env=env, cwd=ROOT,
                                        stdout=subprocess.DEVNULL, stderr=open(self.home / "holder.log", "ab"))
        return self

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            os.kill(self.process.pid, signal.SIGCONT)
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()

    def pause(self) -> None:
        freeze(self.process.pid)

    def resume(self) -> None:
        os.kill(self.process.pid, signal.SIGCONT)

    def permit(self) -> fencing.Permit | None:
        return fencing.read_permit(self.home)

    def writes(self, now: float | None = None) -> bool:
        """Whether this box may write at `now` (boot clock): what its order writer would decide."""
        permit = self.permit()
        return permit is not None and permit.refusal(now) is None

    def state(self) -> dict:
        return json.loads((self.home / "fence" / "holder.json").read_text())

    def log(self) -> str:
        return (self.home / "holder.log").read_text()[-3000:]


def make_box(folder: Path, name: str, endpoints: list[str], role: str, prefix: str, **timings) -> Box:
    home = make_home(folder / name) if not (folder / name / "appliance.toml").exists() else folder / name
    with open(home / "appliance.toml", "a") as f:
        f.write(failover_toml(name, endpoints, role, prefix, **timings))
    return Box(name, home)


def wait_until_writing(box: Box, timeout: float = 15) -> fencing.Permit:
    wait_for(box.writes, timeout=timeout, what=f"{box.name} to hold the lease and write ({box.log()})")
    return box.permit()


def warm_pair(home: Path, tmp_path: Path, endpoints: list[str], replica_target: dict, prefix: str) -> tuple[Box, Box]:
    """Box A in the test's `home` (the primary, replicating to `replica_target`) and box B in a home of
    its own with the same [backup] section and backup key (a pair shares them: B follows A's replica)."""
    from tests.backup.helpers import write_targets
    from tests.backup.replication_helpers import replication_options
    write_targets(home, [replica_target], replication_options(replica_target["name"]))
    shared = (home / "appliance.toml").read_text()
    b_home = tmp_path / "box-b"
    b_home.mkdir()
    shutil.copytree(home / "keys", b_home / "keys")
    (b_home / "appliance.toml").write_text(shared + failover_toml("box-b", endpoints, "standby", prefix))
    with open(home / "appliance.toml", "a") as f:
        f.write(failover_toml("box-a", endpoints, "primary", prefix))
    return Box("box-a", home), Box("box-b", b_home)


def start_follower(box: Box) -> subprocess.Popen:
    """The follower on the box, as its systemd unit runs it (`python -m failover.service follow`)."""
    env = {**os.environ, "APPLIANCE_HOME": str(box.home), "PYTHONPATH": str(ROOT)}
    return subprocess.Popen([sys.executable, "-m", "failover.service", "follow"], env=env, cwd=ROOT,
                            stdout=subprocess.DEVNULL, stderr=open(box.home / "follow.log", "ab"))
