"""The namespace rig (tests/failover/rig.py) with a PostgreSQL pair under Patroni (issue 12, "PostgreSQL
pairs"; docs/failover-postgresql.md).

The same LAN, machines and till as the SQLite rig, and the same shop address; what each box runs is
what a Patroni box's units run:

    box-a, box-b   etcd member, Patroni with its PostgreSQL (Debian's binaries, as the postgres user,
                   data folders of their own owned by postgres), `appliance serve` writing through the
                   multi-host URL over both boxes' addresses (target_session_attrs=read-write), and
                   keepalived with deploy/keepalived/keepalived.conf, whose track script
                   (`python -m failover.holds`) asks this box's Patroni `GET /primary`
    witness        etcd member only

No lease holder, no follower, no SFTP replica: Patroni replicates synchronously and promotes. Patroni's
timings are the fastest it accepts (TTL 20 s, its minimum; loop_wait 1 s; retry_timeout 3 s).

The boxes' databases can only be reached from inside the namespaces, so what the checker needs from
them (the orders, the stock and audit checks of rig_history) is asked by running this module in the
survivor's namespace: `python -m tests.failover.pg_rig orders|problems HOME` prints JSON.
"""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from tests.conftest import make_home
from tests.durability.served import APPLIANCE, REPO
from tests.failover.rig import PASSWORD, Box, Machine, Rig, running
from tests.servers.patroni import SUPERUSER_PASSWORD, owned_by_postgres, patroni_box
from tests.servers.postgres import PostgresNotInstalled, find_bin_dir
from tests.servers.required import need, tool_path
from tests.servers.waiting import wait_for

PG_PORT = 5432
REST_PORT = 8008
URL_OPTIONS = ("target_session_attrs=read-write&connect_timeout=2"
               "&keepalives_idle=2&keepalives_interval=1&keepalives_count=3&tcp_user_timeout=5000")


class PgRig(Rig):
    """`build()`, `start_pair()`, then the scenarios; `close()` always (it removes the data folders)."""

    def __init__(self, folder: Path, prefix: str | None = None):
        super().__init__(folder, prefix)
        self.data: Path | None = None  # the data folders, made once the rig knows it can run
        self.patroni: dict[str, list[str]] = {}
        self.patroni_env: dict[str, str] = {}

    @property
    def boxes(self) -> tuple[Box, Box]:
        return self.a, self.b

    def url(self) -> str:
        """The multi-host URL of docs/failover-postgresql.md, libpq's timeouts included (without them a
        connection to a primary cut off from this box hangs for TCP's ~15 minutes)."""
        hosts = ",".join(f"{box.address}:{PG_PORT}" for box in self.boxes)
        return f"postgresql://postgres:{SUPERUSER_PASSWORD}@{hosts}/postgres?{URL_OPTIONS}"

    def rest_api(self, box: Box) -> str:
        return f"{box.address}:{REST_PORT}"

    # -- the pair ----------------------------------------------------------------------------------

    def make_homes(self, **timings) -> None:
        """Each box's home as `appliance init` makes it, [failover] engine = "patroni" and its Patroni
        YAML (`appliance failover patroni-config`, tests/servers/patroni.py)."""
        require_patroni()
        # PostgreSQL (as postgres) cannot enter pytest's tmp_path (root's, mode 700)
        self.data = owned_by_postgres(Path(tempfile.mkdtemp(prefix="appliance-pg-rig-")))
        rest = {box.role: self.rest_api(box) for box in self.boxes}
        for box in self.boxes:
            box.home = make_home(box.folder / "home")
            node = patroni_box(box.home, self.data / box.role, box.role, self.endpoints(), rest,
                               f"{box.address}:{PG_PORT}", self.url(), timings or None)
            self.patroni[box.role], self.patroni_env = node.command()
            box.env = {**os.environ, "APPLIANCE_HOME": str(box.home), "PYTHONPATH": str(REPO)}
            box.env.pop("APPLIANCE_DATABASE_URL", None)

    def start_pair(self, **timings) -> "PgRig":
        """etcd on the three machines, Patroni on box-a (it bootstraps the cluster) then box-b (it
        clones box-a and becomes its synchronous standby), the appliance's schema and the till's
        token, then serve and keepalived on both. Returns once box-a holds the shop address."""
        self.keepalived = tool_path("keepalived", "the rig moves the shop address with keepalived (Debian)",
                                    "/usr/sbin/keepalived")
        tool_path("curl", "the rig asks each box's Patroni REST API from inside its namespace")
        self.make_homes(**timings)
        for machine in (self.witness, self.a, self.b):
            self.start_etcd(machine)
        self.start_patroni(self.a)
        self.wait_for_role(self.a, "primary", timeout=90)
        self.start_patroni(self.b)
        self.wait_for_role(self.b, "sync_standby", timeout=90)
        self.initialise_database()
        for box in self.boxes:
            self.start_appliance(box)
        wait_for(lambda: self.ask("GET", "/readyz")[0] == 200, timeout=60,
                 what="box-a to serve through the shop address")
        assert self.a.holds_shop_address() and not self.b.holds_shop_address()
        return self

    def start_patroni(self, box: Box) -> None:
        box.start("patroni", self.patroni[box.role], self.patroni_env)

    def start_appliance(self, box: Box) -> None:
        """What a Patroni box's units start after Patroni: serve, then keepalived."""
        box.start_serve()
        box.start_keepalived(self.keepalived)

    def start_box(self, box: Box) -> None:
        """A box booting again: etcd, Patroni, serve, keepalived."""
        self.start_etcd(box)
        self.start_patroni(box)
        self.start_appliance(box)

    def initialise_database(self) -> None:
        """`appliance init` on box-a: the schema and the first admin in the pair's database (through the
        multi-host URL), then the till's manager token."""
        done = subprocess.run(self.a.command(*APPLIANCE, "--home", str(self.a.home), "init", "--admin-password-stdin"),
                              input=PASSWORD + "\n", capture_output=True, text=True, env=self.a.env, cwd=REPO,
                              timeout=120)
        assert done.returncode == 0, done.stderr
        made = self.a.appliance("token", "create", "--name", "till", "--role", "manager")
        assert made.returncode == 0, made.stderr
        self.token = made.stdout.strip().splitlines()[-1]

    # -- asking the boxes --------------------------------------------------------------------------

    def patroni_state(self, box: Box) -> dict:
        """The box's Patroni as its REST API says (GET /patroni), from inside the box; {} when it
        does not answer."""
        done = box.run("curl", "-s", "-m", "1", f"http://{self.rest_api(box)}/patroni", timeout=10)
        try:
            return json.loads(done.stdout) if done.returncode == 0 else {}
        except ValueError:
            return {}

    def role(self, box: Box) -> str | None:
        return role(self.patroni_state(box))

    def wait_for_role(self, box: Box, wanted: str, timeout: float = 60) -> None:
        try:
            wait_for(lambda: self.role(box) == wanted, timeout, f"{box.role} to be {wanted}", step=0.3)
        except AssertionError as e:
            raise AssertionError(f"{e}\n{box.role}'s Patroni log:\n{box.log('patroni', 4000)}") from None

    def holds(self, box: Box) -> tuple[int, str]:
        """keepalived's track script on the box, run as keepalived runs it."""
        done = box.run(sys.executable, "-m", "failover.holds", env=box.env, timeout=20)
        return done.returncode, (done.stdout + done.stderr).strip()

    def history(self, box: Box) -> list:
        """Patroni's timeline history on the box (GET /history: [timeline, LSN, reason, time, leader])."""
        done = box.run("curl", "-s", "-m", "2", f"http://{self.rest_api(box)}/history", timeout=10)
        return json.loads(done.stdout) if done.returncode == 0 and done.stdout.strip() else []

    def etcd_leader(self) -> str | None:
        """Which machine's etcd member leads the cluster (its JSON gateway's maintenance status)."""
        for machine in (self.a, self.b, self.witness):
            done = machine.run("curl", "-s", "-m", "1", "-X", "POST", f"http://{machine.address}:2379/v3/maintenance/status",
                               "-d", "{}", timeout=10)
            try:
                status = json.loads(done.stdout)
            except ValueError:
                continue
            if status.get("leader") and status["leader"] == status.get("header", {}).get("member_id"):
                return machine.role
        return None

    def etcd_term(self, machine: Machine) -> int:
        """The Raft term the machine's etcd member is in: it grows by one at each election held."""
        done = machine.run("curl", "-s", "-m", "2", "-X", "POST", f"http://{machine.address}:2379/v3/maintenance/status",
                           "-d", "{}", timeout=10)
        return int(json.loads(done.stdout)["raftTerm"])

    def in_box(self, box: Box, what: str) -> object:
        """`orders` or `problems` of the box's database, run in its namespace (main() below)."""
        done = box.run(sys.executable, "-m", "tests.failover.pg_rig", what, str(box.home), env=box.env, timeout=60)
        assert done.returncode == 0, done.stderr[-2000:]
        return json.loads(done.stdout)

    def orders(self, box: Box) -> list[dict]:
        return self.in_box(box, "orders")

    def problems(self, box: Box) -> list[str]:
        return self.in_box(box, "problems")

    def close(self) -> None:
        try:
            super().close()
        finally:
            if self.data is not None:
                shutil.rmtree(self.data, ignore_errors=True)

    def logs(self) -> str:
        return "\n".join(f"--- {m.role} {name}\n{m.log(name, 2500)}" for m in self.boxes
                         for name in ("patroni", "serve", "keepalived"))


def require_patroni() -> None:
    """Skips (fails under CI=true) without Patroni, PostgreSQL's server programs or their user."""
    import importlib.util
    import pwd
    if importlib.util.find_spec("patroni") is None:
        need("patroni", "the PostgreSQL pair runs under Patroni (the patroni[etcd3] dependency)")
    try:
        find_bin_dir()
    except PostgresNotInstalled as e:
        need("postgresql", str(e))
    try:
        pwd.getpwnam("postgres")
    except KeyError:
        need("postgres user", "PostgreSQL refuses to run as root: Debian's postgresql package makes its user")


def role(state: dict) -> str | None:
    """primary, sync_standby or replica (what GET /patroni says), None when Patroni did not answer."""
    if not state:
        return None
    if state.get("role") in ("primary", "master"):
        return "primary"
    return "sync_standby" if state.get("sync_standby") else state.get("role")


@pytest.fixture
def pg_rig(tmp_path):
    """A running PostgreSQL pair on the namespace LAN with the shop's products; torn down whatever
    happens."""
    yield from running(PgRig(tmp_path))


# -- run inside a box's namespace -------------------------------------------------------------------

def _orders() -> list[dict]:
    from appliance.models import Order
    return [{"number": number, "epoch": None, "created_at": str(created), "status": status}
            for number, created, status in Order.select(Order.number, Order.created_at, Order.status)
            .order_by(Order.id).tuples()]


def main(argv: list[str]) -> int:
    from appliance.db import database
    from tests.durability.stock_checks import box_database
    from tests.failover.rig_history import database_problems
    what, home = argv
    ask = {"orders": _orders, "problems": database_problems}[what]
    # One snapshot: the tills may still be ordering, and the audit chain's head and its events (or a
    # stock level and its ledger) read by separate statements would be of different moments.
    with box_database(Path(home)), database.atomic():
        database.execute_sql("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")
        print(json.dumps(ask()))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
