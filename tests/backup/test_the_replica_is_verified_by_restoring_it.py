"""`appliance replication verify` proves the replica restorable: it restores it into a scratch file
with the full integrity check, records the run, leaves nothing behind and never touches the box's
database; a damaged replica file fails it, recorded with the reason. The box's scheduler runs it on
the verify schedule when replication is on."""
from __future__ import annotations

from apscheduler.schedulers.background import BackgroundScheduler

from backup import replication
from backup.jobs import register
from appliance.models import OperationRun
from backup.staging import staging_dir

from tests.servers.waiting import wait_for

from .helpers import sftp_target
from .replication_helpers import add_orders, caught_up, damage_a_file_the_restore_reads, replication_options


def _replicated(settings):
    supervisor = replication.Supervisor(settings).start()
    try:
        first = wait_for(lambda: caught_up(settings), what="the first sync")["local_txid"]
        add_orders(settings, 5)
        wait_for(lambda: (f := caught_up(settings)) and f["local_txid"] > first and f, what="the replica to catch up")
    finally:
        supervisor.stop()


def test_verify_restores_the_replica_into_scratch_and_records_it(shop, configure, sshd_server, home, cli):
    settings = configure(sftp_target("nas", sshd_server, "verified"), **replication_options("nas"))
    _replicated(settings)
    database = home / "appliance.db"
    before = database.stat().st_mtime_ns

    result = cli("replication", "verify", "--quiet")

    assert result.exit_code == 0, result.output
    assert "ok, restored up to transaction" in result.output and "orders=" in result.output
    run = OperationRun.select().where(OperationRun.operation == "replication.verify").get()
    assert run.outcome == "ok" and "integrity ok" in run.summary
    assert not list(staging_dir(settings).glob("replica-verify-*"))
    assert database.stat().st_mtime_ns == before


def test_a_damaged_replica_fails_verify_with_the_reason_recorded(shop, configure, sshd_server, cli):
    settings = configure(sftp_target("nas", sshd_server, "unverified"), **replication_options("nas"))
    _replicated(settings)
    remote = sshd_server.root / "unverified-litestream"
    damage_a_file_the_restore_reads(remote)

    result = cli("replication", "verify", "--quiet")

    assert result.exit_code == 1
    run = OperationRun.select().where(OperationRun.operation == "replication.verify").get()
    assert run.outcome == "failed" and "fails decryption" in run.summary


def test_the_scheduler_verifies_the_replica_when_replication_is_on(shop, configure, sshd_server):
    settings = configure(sftp_target("nas", sshd_server, "scheduled-verify"), **replication_options("nas"))
    scheduler = BackgroundScheduler(timezone="UTC")
    register(scheduler, settings)
    scheduler.start(paused=True)
    try:
        assert scheduler.get_job("replication.verify") is not None
    finally:
        scheduler.shutdown(wait=False)  # the supervisor it started stops with it
