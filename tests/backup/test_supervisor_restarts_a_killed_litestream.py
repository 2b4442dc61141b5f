"""The appliance supervises Litestream: a killed one is restarted (with backoff) and replication
resumes; one supervisor per box; a replica server with the wrong host key is refused, and the lag of
the transactions that stay on the box grows and is reported."""
from __future__ import annotations

import os
import signal

import pytest

from backup import replication
from backup.status import monitor_facts

from tests.servers.waiting import wait_for

from .helpers import sftp_target
from .replication_helpers import add_orders, alive, caught_up, replication_options


def test_a_killed_litestream_is_restarted_and_catches_up(shop, configure, home, sshd_server):
    settings = configure(sftp_target("nas", sshd_server, "restart"), **replication_options("nas"))
    supervisor = replication.Supervisor(settings).start()
    second = replication.Supervisor(settings, wait_for_lock=False)
    try:
        first = wait_for(lambda: caught_up(settings), what="the first sync")["litestream_pid"]
        with pytest.raises(replication.ReplicationError, match="already supervised"):
            second.run()  # exactly one supervisor per box

        os.kill(first, signal.SIGKILL)
        down = wait_for(lambda: (f := replication.facts(settings)) and not f["running"] and f, what="the death noticed")
        assert "litestream is down" in down["reason"]
        restarted = wait_for(lambda: (f := replication.facts(settings)) and f["running"]
                             and f["litestream_pid"] not in (None, first) and f, what="a new litestream")
        assert restarted["restarts"] == 1

        add_orders(settings, 5)
        facts = wait_for(lambda: caught_up(settings), what="the replica to catch up after the restart")
        assert facts["replica_txid"] >= facts["local_txid"]
        assert list((sshd_server.root / "restart-litestream" / "0").glob("*.ltx.aes"))
    finally:
        supervisor.stop()
    assert not alive(restarted["litestream_pid"])
    assert not (home / "run" / "litestream.pid").exists()


def test_a_replica_server_with_another_host_key_is_refused_and_reported(shop, configure, home, sshd_server, tmp_path):
    impostor_key = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIA6B5yOcXgiLo1lZ3qC5yB4Ts6r6Bb5Cz6kx8nD9Vd0m"
    settings = configure(sftp_target("nas", sshd_server, "impostor", host_key=impostor_key),
                         **replication_options("nas"))
    supervisor = replication.Supervisor(settings).start()
    try:
        facts = wait_for(lambda: (f := monitor_facts(settings)["replication"]) and "not the pinned one" in f["reason"]
                         and f["lag_seconds"] and f["lag_seconds"] > 1 and f, what="the refusal to be reported")
        assert facts["running"] is True  # Litestream captures the transactions; they stay on this box
        assert facts["replica_txid"] is None and "shipping fails" in facts["reason"]
    finally:
        supervisor.stop()
    assert not (sshd_server.root / "impostor-litestream").exists()


def test_the_box_scheduler_supervises_litestream_and_stops_it_with_itself(shop, configure, sshd_server):
    from apscheduler.schedulers.background import BackgroundScheduler

    from backup.jobs import register

    settings = configure(sftp_target("nas", sshd_server, "scheduled"), **replication_options("nas"))
    scheduler = BackgroundScheduler(timezone="UTC")
    register(scheduler, settings)
    scheduler.start()
    try:
        pid = wait_for(lambda: caught_up(settings), what="the first sync")["litestream_pid"]
    finally:
        scheduler.shutdown(wait=False)
    assert not alive(pid)
    assert replication.facts(settings)["reason"] == "the replication supervisor is not running"


def test_the_lag_grows_while_the_replica_server_is_down(shop, configure, tmp_path):
    from tests.servers.sshd import start_sshd

    nas = start_sshd(tmp_path / "sshd")
    settings = configure(sftp_target("nas", nas, "down"), **replication_options("nas"))
    supervisor = replication.Supervisor(settings).start()
    try:
        wait_for(lambda: caught_up(settings), what="the first sync")
        nas.stop()
        add_orders(settings, 3)
        first = wait_for(lambda: (f := replication.facts(settings))["lag_seconds"] and f["lag_seconds"] > 1 and f,
                         what="a lag over 1 s")
        later = wait_for(lambda: (f := replication.facts(settings))["lag_seconds"] > first["lag_seconds"] + 1 and f,
                         what="the lag to grow")
        assert "not yet known on the replica" in later["reason"]
        nas.start()
        wait_for(lambda: caught_up(settings), timeout=30, what="the replica to catch up after the server is back")
    finally:
        supervisor.stop()
        nas.stop()
