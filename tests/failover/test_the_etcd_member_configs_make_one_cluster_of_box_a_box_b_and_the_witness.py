"""deploy/etcd/{box-a,box-b,witness}.env (Debian's /etc/default/etcd on each machine) name three
members, the same initial cluster and token in each, and each member advertises and listens on the
peer URL the cluster gives its name; every variable is an option of the real etcd; and the three files,
their addresses moved to 127.0.0.1 ports, start one real cluster of those three members."""
import json
import re
import subprocess
import urllib.request

from tests.failover.pair import ROOT
from tests.servers.etcd import read_env_file
from tests.servers.ports import free_port
from tests.servers.required import tool_path
from tests.servers.waiting import wait_for

CONFIGS = ROOT / "deploy" / "etcd"
MEMBERS = ["box-a", "box-b", "witness"]


def _read(name: str) -> dict[str, str]:
    return read_env_file(CONFIGS / f"{name}.env")


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
            if variable in GO_RUNTIME:
                continue
            assert variable.startswith("ETCD_")
            assert variable[5:].lower().replace("_", "-") in options, f"{name}.env: {variable}"


GO_RUNTIME = {"GOGC"}  # read by Go's runtime in etcd, not etcd's options (deploy/etcd: its memory)


def test_the_members_collect_garbage_at_half_the_default_growth():
    for name in MEMBERS:
        assert _read(name).get("GOGC") == "50", name


def test_the_three_files_start_one_cluster_of_three_members(tmp_path):
    """Each file as etcd's environment (as Debian's unit reads it), its three addresses moved to
    127.0.0.1 ports and its data into tmp_path: the members find each other and form one cluster."""
    etcd = tool_path("etcd", "starts the shipped member configs", "/usr/bin/etcd")
    configs = {name: _read(name) for name in MEMBERS}
    hosts = {name: re.match(r"http://([^:]+):", c["ETCD_ADVERTISE_CLIENT_URLS"]).group(1) for name, c in configs.items()}
    ports = {name: (free_port(), free_port()) for name in MEMBERS}

    def moved(value: str) -> str:
        value = value.replace(",http://127.0.0.1:2379", "")  # each member's own client URL is loopback here
        for name, (client, peer) in ports.items():
            value = value.replace(f"http://{hosts[name]}:2379", f"http://127.0.0.1:{client}")
            value = value.replace(f"http://{hosts[name]}:2380", f"http://127.0.0.1:{peer}")
        return value

    processes = []
    try:
        for name, c in configs.items():
            env = {k: moved(v) for k, v in c.items()} | {"ETCD_DATA_DIR": str(tmp_path / name)}
            processes.append(subprocess.Popen([etcd], env=env | {"PATH": "/usr/bin:/bin"},
                                              stdout=subprocess.DEVNULL, stderr=open(tmp_path / f"{name}.log", "ab")))
        urls = [f"http://127.0.0.1:{client}" for client, _ in ports.values()]
        wait_for(lambda: all(_healthy(u) for u in urls), timeout=20, what="the three shipped etcd members")
        request = urllib.request.Request(urls[2] + "/v3/cluster/member/list", data=b"{}", method="POST")
        with urllib.request.urlopen(request, timeout=5) as answer:
            members = json.loads(answer.read())["members"]
        assert sorted(m["name"] for m in members) == MEMBERS
    finally:
        for process in processes:
            process.kill()
            process.wait(timeout=10)


def _healthy(url: str) -> bool:
    try:
        with urllib.request.urlopen(url + "/health", timeout=0.5) as answer:
            return json.loads(answer.read()).get("health") == "true"
    except (OSError, ValueError):
        return False
