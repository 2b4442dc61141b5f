"""A real 3-member etcd cluster on 127.0.0.1 (Debian's etcd-server), in a temp folder, stopped by PID.

`start_etcd_cluster(folder)` for one test module that breaks members (SIGSTOP, SIGKILL); the
`etcd_cluster` fixture is a module-wide one. Starts in about a second: the members run with a short
heartbeat and election timeout so a lost leader is replaced quickly (lease TTLs of 2 s and up work).
"""
from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from .freezing import freeze
from .ports import free_port
from .required import tool_path
from .waiting import wait_for

SHIPPED_CONFIG = Path(__file__).resolve().parents[2] / "deploy" / "etcd" / "box-a.env"
# What a test cluster gives as flags of its own: names, folders, addresses and faster timings.
MACHINE_SPECIFIC = {"ETCD_NAME", "ETCD_DATA_DIR", "ETCD_LISTEN_PEER_URLS", "ETCD_INITIAL_ADVERTISE_PEER_URLS",
                    "ETCD_LISTEN_CLIENT_URLS", "ETCD_ADVERTISE_CLIENT_URLS", "ETCD_INITIAL_CLUSTER",
                    "ETCD_INITIAL_CLUSTER_STATE", "ETCD_INITIAL_CLUSTER_TOKEN", "ETCD_HEARTBEAT_INTERVAL",
                    "ETCD_ELECTION_TIMEOUT"}


def read_env_file(path: Path) -> dict[str, str]:
    """A member config as Debian's /etc/default/etcd holds it: NAME=value lines, # comments."""
    settings = {}
    for line in path.read_text().splitlines():
        if line.strip() and not line.lstrip().startswith("#"):
            name, equals, value = line.partition("=")
            if not equals:
                raise ValueError(f"{path.name}: not NAME=value: {line!r}")
            settings[name.strip()] = value.strip()
    return settings


def shipped_settings() -> dict[str, str]:
    """The rest of the shipped member config (deploy/etcd/), as the environment etcd reads it from:
    pre-vote, compaction, quota, the Go runtime's GOGC. Test clusters run what a box runs."""
    return {name: value for name, value in read_env_file(SHIPPED_CONFIG).items() if name not in MACHINE_SPECIFIC}


@dataclass
class Member:
    name: str
    folder: Path
    client_port: int
    peer_port: int
    process: subprocess.Popen | None = None

    @property
    def client_url(self) -> str:
        return f"http://127.0.0.1:{self.client_port}"

    @property
    def peer_url(self) -> str:
        return f"http://127.0.0.1:{self.peer_port}"

    def health(self) -> bool:
        try:
            with urllib.request.urlopen(self.client_url + "/health", timeout=0.5) as answer:
                return json.loads(answer.read()).get("health") == "true"
        except (OSError, ValueError):
            return False

    def pause(self) -> None:
        freeze(self.process.pid)

    def resume(self) -> None:
        os.kill(self.process.pid, signal.SIGCONT)

    def kill(self) -> None:
        if self.process and self.process.poll() is None:
            os.kill(self.process.pid, signal.SIGCONT)
            self.process.kill()
            self.process.wait(timeout=10)


@dataclass
class EtcdCluster:
    folder: Path
    members: list[Member] = field(default_factory=list)

    @property
    def endpoints(self) -> list[str]:
        return [m.client_url for m in self.members]

    def start(self) -> "EtcdCluster":
        etcd = tool_path("etcd", "the failover tests need a real etcd cluster (Debian: etcd-server)")
        self.members = [Member(f"m{i}", self.folder / f"m{i}", free_port(), free_port()) for i in range(3)]
        cluster = ",".join(f"{m.name}={m.peer_url}" for m in self.members)
        for m in self.members:
            m.folder.mkdir(parents=True, exist_ok=True)
            m.process = subprocess.Popen(
                [etcd, "--name", m.name, "--data-dir", str(m.folder / "data"),
                 "--listen-client-urls", m.client_url, "--advertise-client-urls", m.client_url,
                 "--listen-peer-urls", m.peer_url, "--initial-advertise-peer-urls", m.peer_url,
                 "--initial-cluster", cluster, "--initial-cluster-state", "new",
                 "--initial-cluster-token", f"test-{os.getpid()}-{self.members[0].client_port}",
                 "--heartbeat-interval", "50", "--election-timeout", "500",
                 "--log-level", "warn", "--logger", "zap"],
                env={**os.environ, **shipped_settings()},
                stdout=subprocess.DEVNULL, stderr=open(m.folder / "etcd.log", "ab"))
        wait_for(lambda: all(m.health() for m in self.members), timeout=20, what="3 healthy etcd members")
        return self

    def stop(self) -> None:
        for m in self.members:
            m.kill()

    def logs(self) -> str:
        return "\n".join(f"--- {m.name}\n" + (m.folder / "etcd.log").read_text()[-2000:] for m in self.members)


def start_etcd_cluster(folder: Path) -> EtcdCluster:
    return EtcdCluster(Path(folder)).start()


@pytest.fixture(scope="module")
def etcd_cluster(tmp_path_factory):
    cluster = start_etcd_cluster(tmp_path_factory.mktemp("etcd"))
    yield cluster
    cluster.stop()
    shutil.rmtree(cluster.folder, ignore_errors=True)
