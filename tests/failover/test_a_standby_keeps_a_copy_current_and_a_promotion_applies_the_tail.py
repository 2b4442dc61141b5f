"""Warm standby: a standby box keeps a copy of the primary's database current from the primary's
sealed replica (`failover follow`: an unsealed mirror and Litestream's follow mode), says how far
behind it is, and a promotion (`take_over`) applies what it has received and makes the copy the
box's database — every order the primary acknowledged and shipped is there."""
from __future__ import annotations

import shutil
import sqlite3
import threading

from appliance import config
from backup import replication, sealed_replica
from failover import standby

from tests.backup.conftest import make_shop
from tests.backup.helpers import sftp_target, write_targets
from tests.backup.replication_helpers import add_orders, caught_up, replication_options
from tests.servers.sshd import sshd_server  # noqa: F401
from tests.servers.waiting import wait_for


def standby_home_of(primary: config.Settings, tmp_path) -> config.Settings:
    """A second box with the primary's [backup] section and backup key (as a pair is installed)."""
    home = tmp_path / "standby-box"
    home.mkdir()
    shutil.copy(primary.home / config.CONFIG_FILE, home / config.CONFIG_FILE)
    shutil.copytree(primary.home / "keys", home / "keys")
    return config.load(home, environ={"APPLIANCE_DATABASE_URL": "sqlite:///appliance.db"})


def numbers_in(db, tmp_path) -> set[str]:
    """Order numbers in a copy Litestream is writing: read from a snapshot of the file."""
    snap = tmp_path / "peek.db"
    shutil.copy(db, snap)
    try:
        conn = sqlite3.connect(snap)
        try:
            return {row[0] for row in conn.execute("SELECT number FROM orders")}
        finally:
            conn.close()
    except sqlite3.DatabaseError:
        return set()  # caught between two pages: read again
    finally:
        snap.unlink(missing_ok=True)
        for side in ("-wal", "-shm"):
            snap.with_name(snap.name + side).unlink(missing_ok=True)


def test_the_copy_follows_the_primary_the_lag_is_reported_and_a_promotion_has_every_shipped_order(
        settings, db, home, sshd_server, tmp_path):  # noqa: F811
    make_shop(settings)
    write_targets(home, [sftp_target("nas", sshd_server, "pair")], replication_options("nas"))
    primary = config.load(home, environ={"APPLIANCE_DATABASE_URL": settings.database.url})
    supervisor = replication.Supervisor(primary).start()
    follower_thread = None
    try:
        wait_for(lambda: caught_up(primary), what="the primary's first sync")
        second = standby_home_of(primary, tmp_path)
        _, _, copy = standby.paths(second)
        follower = standby.Follower(second)
        follower_thread = threading.Thread(target=follower.run, daemon=True)
        follower_thread.start()

        first_orders = add_orders(primary, 3)
        wait_for(lambda: set(first_orders) <= numbers_in(copy, tmp_path) if copy.exists() else False,
                 timeout=30, what="the standby copy to hold the first orders")
        more = add_orders(primary, 4, start=3)
        facts = wait_for(lambda: (f := standby.read_facts(second)) and f["lag_seconds"] == 0.0
                         and set(more) <= numbers_in(copy, tmp_path) and f, timeout=30,
                         what="the standby to catch up")
        assert facts["following"] and facts["applied_txid"] == facts["newest_txid"] and facts["error"] is None

        follower.stop()
        follower_thread.join(30)
        assert standby.read_facts(second)["following"] is False
        unapplied = add_orders(primary, 2, start=7)  # shipped, but nobody applies them yet
        wait_for(lambda: (shipped := caught_up(primary)) and shipped["local_txid"] > facts["applied_txid"],
                 what="the primary to ship them")
        behind = standby.Follower(second, clock=lambda: 4_000_000_000.0)
        pending = behind.sync_once()  # the mirror has the new file; Litestream is not applying it
        assert pending.applied_txid == facts["applied_txid"] < pending.newest_txid
        newest_capture = max(sealed_replica.ltx_time(p) for p in behind.mirror.held().values())
        assert pending.lag_seconds is not None and abs(pending.lag_seconds - (4_000_000_000.0 - newest_capture)) < 5
        behind.mirror.close()
    finally:
        supervisor.stop()  # the primary dies after shipping

    old_database = standby_db = second.home / "appliance.db"
    standby_db.write_bytes(b"the standby's own empty database")
    result = standby.take_over(second)

    assert result["caught_up"] and result["applied_txid"] == result["newest_txid"]
    conn = sqlite3.connect(standby_db)
    try:
        promoted = {row[0] for row in conn.execute("SELECT number FROM orders")}
        assert conn.execute("PRAGMA quick_check").fetchone()[0] == "ok"
    finally:
        conn.close()
    assert set(first_orders + more + unapplied) <= promoted
    assert not copy.exists()
    assert [p.name for p in old_database.parent.glob("appliance.db.before-promotion-*")]
