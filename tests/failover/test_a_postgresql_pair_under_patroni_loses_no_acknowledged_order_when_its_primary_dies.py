"""A PostgreSQL pair (`[failover] engine = "patroni"`): Patroni on the pair's etcd, configured by
`appliance failover patroni-config`, replicates synchronously. The appliance writes through one
multi-host URL with target_session_attrs=read-write. When the primary box dies (SIGKILL of Patroni
and its PostgreSQL), Patroni promotes the synchronous standby, the same URL takes orders again, and
every order acknowledged before the death is there: no loss at all. `failover status` names the new
primary with a higher epoch (Patroni's timeline)."""
from __future__ import annotations

import json
import os
import subprocess
import tempfile
import time
from pathlib import Path

import pytest
from peewee import fn

from appliance import config, inventory, orders, runtime
from appliance.db import database
from appliance.models import Order, StockLevel, utcnow
from failover import facts
from monitors import engine
from monitors.checks import catalog, config_for
from appliance.schema import migrate
from cli.wiring import extra_models
from tests.conftest import make_home
from tests.servers.etcd import start_etcd_cluster
from tests.servers.patroni import (APPLIANCE, SUPERUSER_PASSWORD, PatroniNode, loopback_addresses, owned_by_postgres,
                                   patroni_box)
from tests.servers.waiting import wait_for

pytestmark = pytest.mark.xdist_group("patroni")

def _box(tmp_path: Path, base: Path, name: str, etcd: list[str], rest: dict[str, str], pg: dict[str, int],
         url: str) -> tuple[Path, PatroniNode]:
    home = make_home(tmp_path / name)
    return home, patroni_box(home, base / name, name, etcd, rest, f"127.0.0.1:{pg[name]}", url)


def _status(home: Path) -> dict:
    done = subprocess.run([APPLIANCE, "failover", "status", "--json"], env={**os.environ, "APPLIANCE_HOME": str(home)},
                          capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def _lease_check(home: Path):
    """The monitors' failover_lease check as it runs on that box (Patroni's leader on a PostgreSQL pair)."""
    settings = config.load(home)
    facts.forget(settings)
    check = catalog()["failover_lease"]
    return engine.evaluate(check, config_for(check, settings), settings, utcnow())


def _order(settings, key: str) -> str:
    """One order, retried with its key until a primary takes it (as a keyed till does); its number."""
    while True:
        try:
            order, _ = orders.create_order(settings, channel="api", actor="till",
                                           lines=[orders.LineRequest("TEA", 1)],
                                           idempotency=orders.Idempotency.of_client("till", key, "h"))
            return order.number
        except Exception:  # noqa: BLE001 - the primary is gone: reconnect through the URL's other host
            if not database.is_closed():
                database.close()
            time.sleep(0.2)


def test_the_promoted_standby_has_every_acknowledged_order_and_takes_new_ones(tmp_path):
    etcd = start_etcd_cluster(tmp_path / "etcd")
    base = owned_by_postgres(Path(tempfile.mkdtemp(prefix="appliance-patroni-")))
    rest, pg, url = loopback_addresses(SUPERUSER_PASSWORD)
    nodes: list[PatroniNode] = []
    try:
        home_a, a = _box(tmp_path, base, "box-a", etcd.endpoints, rest, pg, url)
        home_b, b = _box(tmp_path, base, "box-b", etcd.endpoints, rest, pg, url)
        nodes += [a.start()]
        a.wait_for_role("leader")
        nodes += [b.start()]
        b.wait_for_role("sync_standby")
        before = _status(home_a)
        assert before["role"] == "primary" and before["lease_holder"] == "box-a"
        assert before["standby"]["name"] == "box-b" and before["standby"]["synchronous"]
        leader_check = _lease_check(home_b)
        assert leader_check.state == "ok" and "box-a is the primary" in leader_check.reason
        assert "box-b is its synchronous standby" in leader_check.reason

        settings = config.load(home_a)
        runtime.connect(settings)
        migrate(extra_models())
        inventory.create_product({"sku": "TEA", "name": "Tea", "price_cents": 350}, "test")
        inventory.receive("TEA", 1000, "test")
        acknowledged = [_order(settings, f"before-{i}") for i in range(20)]

        a.kill()
        died = time.monotonic()
        first_after = _order(settings, "after-0")
        failover_seconds = time.monotonic() - died
        acknowledged += [first_after] + [_order(settings, f"after-{i}") for i in range(1, 5)]

        present = {number for (number,) in Order.select(Order.number).tuples()}
        assert set(acknowledged) <= present, sorted(set(acknowledged) - present)
        assert len(present) == len(acknowledged)  # each once: the keyed retries made no second order
        level = StockLevel.select(fn.SUM(StockLevel.on_hand), fn.SUM(StockLevel.reserved)).tuples().get()
        assert level == (1000, len(acknowledged))
        # Patroni's TTL (20 s, its minimum) bounds it; a Patroni pair trades seconds for no loss at all
        assert failover_seconds < 45, failover_seconds

        # Patroni reports the new timeline from its next loop on (loop_wait 1 s)
        after = wait_for(lambda: (lambda s: s if s["epoch"] and s["epoch"] > before["epoch"] else None)(_status(home_b)),
                         10, "the promoted box's timeline to grow", step=0.5)
        assert after["role"] == "primary" and after["lease_holder"] == "box-b"
        assert after["members"][rest["box-a"]].startswith("unreachable")
        alone = _lease_check(home_b)  # the primary has no standby left: a second failure would stop the shop
        assert alone.state == "warn" and "with no standby" in alone.reason and "standby-rebuild" in alone.reason
    finally:
        runtime.close()
        for node in nodes:
            node.kill()
        etcd.stop()
        subprocess.run(["rm", "-rf", str(base)], check=False)
