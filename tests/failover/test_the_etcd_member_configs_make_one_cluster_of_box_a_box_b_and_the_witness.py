"""deploy/etcd/{box-a,box-b,witness}.env (Debian's /etc/default/etcd on each machine) name three
members, the same initial cluster and token in each, and each member advertises and listens on the
peer URL the cluster gives its name; every variable is an option of the real etcd."""
import re
import subprocess

from tests.failover.pair import ROOT
from tests.servers.required import tool_path

CONFIGS = ROOT / "deploy" / "etcd"
MEMBERS = ["box-a", "box-b", "witness"]


def _read(name: str) -> dict[str, str]:
    pairs = [line.split("=", 1) for line in (CONFIGS / f"{name}.env").read_text().splitlines()
             if line.strip() and not line.lstrip().startswith("#")]
    assert all(len(p) == 2 for p in pairs)
    return {k.strip(): v.strip() for k, v in pairs}


def test_three_members_with_their_own_peer_urls_in_one_cluster():
    configs = {name: _read(name) for name in MEMBERS}
    assert sorted(p.name for p in CONFIGS.glob("*.env")) == sorted(f"{m}.env" for m in MEMBERS)
    clusters = {c["ETCD_INITIAL_CLUSTER"] for c in configs.values()}
    assert len(clusters) == 1
    cluster = dict(entry.split("=", 1) for entry in clusters.pop().split(","))
    assert sorted(cluster) == MEMBERS and len(set(cluster.values())) == 3
    assert len({c["ETCD_INITIAL_CLUSTER_TOKEN"] for c in configs.values()}) == 1
    for name, c in configs.items():
        assert c["ETCD_NAME"] == name
        assert c["ETCD_INITIAL_ADVERTISE_PEER_URLS"] == cluster[name] == c["ETCD_LISTEN_PEER_URLS"]
        host = re.match(r"http://([^:]+):2380$", cluster[name]).group(1)
        assert c["ETCD_ADVERTISE_CLIENT_URLS"] == f"http://{host}:2379"
        assert f"http://{host}:2379" in c["ETCD_LISTEN_CLIENT_URLS"].split(",")
        assert c["ETCD_INITIAL_CLUSTER_STATE"] == "new"
        # Not Debian's default folder: apt's first start left a lone member's data there.
        assert c["ETCD_DATA_DIR"] != "/var/lib/etcd/default"


def test_every_variable_is_an_option_of_etcd():
    etcd = tool_path("etcd", "names the options etcd takes", "/usr/bin/etcd")
    helped = subprocess.run([etcd, "--help"], capture_output=True, text=True, timeout=30)
    options = set(re.findall(r"^\s+--([a-z0-9-]+)", helped.stdout + helped.stderr, re.M))
    assert "initial-cluster" in options
    for name in MEMBERS:
        for variable in _read(name):
            assert variable.startswith("ETCD_")
            assert variable[5:].lower().replace("_", "-") in options, f"{name}.env: {variable}"
