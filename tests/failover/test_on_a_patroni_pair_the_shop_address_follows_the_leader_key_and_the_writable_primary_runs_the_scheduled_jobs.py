"""keepalived's track script on a PostgreSQL pair (`[failover] engine = "patroni"`): `python -m
failover.holds`, run as keepalived runs it, exits 0 only on the box whose Patroni holds the leader key
(Patroni's `GET /primary` answers 200); the synchronous standby exits 1, and so does a box whose
Patroni is gone (it cannot be asked, so it never keeps the shop address). In a planned switchover the
old primary keeps passing while its PostgreSQL stops and it still holds the key, so the address never
has a moment with no box (the PG rig measured 1.5-2 s of lost SYNs when it did). A switchover to a
standby that is not yet synchronous (it has just rejoined) waits for it; one to a box that never
becomes synchronous fails saying so. Real etcd and two real Patroni nodes on 127.0.0.1
(tests/servers/patroni.py).

Which box runs the primary's scheduled jobs (backups, verifies, retention, drills;
appliance/scheduler.py `not_the_primary`) asks more: a PostgreSQL that accepts writes. Both boxes
write through one URL to the same primary, so on the standby's box they are skipped, saying why,
instead of running twice."""
from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import threading
from pathlib import Path

import pytest

import failover.operations  # noqa: F401 - registers the Patroni answer with the scheduler
from appliance import config
from appliance.scheduler import not_the_primary
from failover import patroni
from failover.holds import patroni_address_verdict, patroni_verdict

from tests.conftest import make_home
from tests.durability.served import REPO
from tests.servers.etcd import start_etcd_cluster
from tests.servers.patroni import loopback_addresses, owned_by_postgres, patroni_box

pytestmark = pytest.mark.xdist_group("patroni")


def _track_script(home: Path) -> tuple[int, str]:
    """The check as deploy/keepalived/keepalived.conf runs it: its exit status and its sentence."""
    done = subprocess.run([sys.executable, "-m", "failover.holds"], capture_output=True, text=True, timeout=10,
                          cwd=REPO, env={**os.environ, "APPLIANCE_HOME": str(home), "PYTHONPATH": str(REPO)})
    return done.returncode, (done.stdout + done.stderr).strip()


@pytest.fixture
def pair(tmp_path):
    """box-a the leader, box-b its synchronous standby: (their homes, REST APIs, Patroni nodes)."""
    etcd = start_etcd_cluster(tmp_path / "etcd")
    base = owned_by_postgres(Path(tempfile.mkdtemp(prefix="appliance-patroni-holds-")))
    rest, pg, url = loopback_addresses("x")
    homes = {name: make_home(tmp_path / name) for name in rest}
    a, b = (patroni_box(homes[name], base / name, name, etcd.endpoints, rest, f"127.0.0.1:{pg[name]}", url)
            for name in ("box-a", "box-b"))
    try:
        a.start()
        a.wait_for_role("leader")
        b.start()
        b.wait_for_role("sync_standby")
        yield homes, rest, a, b
    finally:
        for node in (a, b):
            node.kill()
        etcd.stop()
        subprocess.run(["rm", "-rf", str(base)], check=False)


def test_the_leader_passes_the_check_and_the_standby_and_a_dead_patroni_fail_it(pair):
    homes, rest, a, b = pair
    code, said = _track_script(homes["box-a"])
    assert code == 0, said
    assert "Patroni is the primary (timeline 1)" in said

    code, said = _track_script(homes["box-b"])
    assert code == 1 and "not the primary" in said and "role replica" in said, said
    assert not_the_primary(config.load(homes["box-a"])) is None
    skipped = not_the_primary(config.load(homes["box-b"]))
    assert skipped and "not the primary" in skipped and "the primary's box runs this" in skipped

    a.kill()
    code, said = _track_script(homes["box-a"])
    assert code == 1 and "does not answer" in said and rest["box-a"] in said, said
    assert "does not answer" in not_the_primary(config.load(homes["box-a"]))


def _watch(rest_api: str, samples: list, stop: threading.Event) -> None:
    """box-a's address check and its writable-primary check, every 50 ms until `stop`."""
    while not stop.is_set():
        samples.append((patroni_address_verdict(rest_api), patroni_verdict(rest_api)[0]))
        stop.wait(0.05)


def test_a_switchover_keeps_the_address_with_the_leader_key_and_waits_for_a_synchronous_standby(pair):
    homes, rest, a, b = pair
    samples, stop = [], threading.Event()
    watcher = threading.Thread(target=_watch, args=(rest["box-a"], samples, stop))
    watcher.start()
    try:
        said = patroni.switchover(config.load(homes["box-b"]), "box-b")
    finally:
        stop.set()
        watcher.join()
    assert "box-b accepts writes" in said
    # Patroni stops box-a's PostgreSQL, waits a second for box-b to have the shutdown checkpoint,
    # then releases the key: all that time box-a keeps the address, refusing writes
    # (the two checks of a sample ask one after the other: under load the address check may still have
    # seen a writable primary just before the writable check saw it stopping, so the handover samples
    # are those whose address check itself saw the stop; box-a never accepts writes again after it)
    handing_over = [writable for (keeps, said), writable in samples
                    if keeps and "holds the leader key while its PostgreSQL is" in said]
    assert handing_over and not any(handing_over), samples
    assert not samples[-1][0][0], "box-a gave the key away: it no longer keeps the address"
    assert _track_script(homes["box-b"])[0] == 0

    # box-a restarts as a replica, not yet the synchronous standby: a switchover back waits for it
    rejoining = a.role()
    said = patroni.switchover(config.load(homes["box-b"]), "box-a")
    assert "box-a accepts writes" in said, f"{said} (box-a was {rejoining} when asked)"
    assert _track_script(homes["box-a"])[0] == 0 and _track_script(homes["box-b"])[0] == 1

    b.wait_for_role("sync_standby")
    with pytest.raises(patroni.PatroniError) as refused:
        patroni.switchover(config.load(homes["box-a"]), "box-z", sync_timeout=1.0)
    message = str(refused.value)
    assert message.startswith("box-z is not the synchronous standby after 1 s ("), message
    assert "box-b sync_standby" in message and "every acknowledged transaction" in message
    assert a.role() == "leader"
