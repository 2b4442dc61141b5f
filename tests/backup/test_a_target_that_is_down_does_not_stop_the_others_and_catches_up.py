"""A target that is down (server stopped) does not stop the others; nothing incomplete lists as a
backup; the next run catches up what it missed."""
from __future__ import annotations

import threading
import time
from contextlib import contextmanager

from appliance import operations
from appliance.models import OperationRun
from backup.models import BackupCopy
from backup.run import run_backup
from backup.targets import backups_on, open_targets
from tests.servers.sshd import start_sshd

from .helpers import local_target, s3_target, sftp_target


def _scheduled_backup(settings):
    """A backup as the scheduler starts it: the `backup.run` operation, recorded in the ledger."""
    return operations.execute(settings, "backup.run", actor=operations.SCHEDULER, source="schedule",
                              show_progress=False)


def test_a_stopped_sftp_server_misses_one_backup_and_gets_it_at_the_next_run(
        shop, configure, home, tmp_path, s3_server):
    nas = start_sshd(tmp_path / "sshd")
    try:
        settings = configure(local_target("disk", tmp_path / "disk"), sftp_target("nas", nas, "shop"),
                             s3_target("offsite", s3_server, s3_server.new_bucket(), home),
                             retry_base_seconds=1, retries_in_run=0)
        nas.stop()

        missed = _scheduled_backup(settings)

        assert sorted(missed.stored) == ["disk", "offsite"]
        assert "cannot connect" in missed.failed["nas"]
        assert BackupCopy.get(BackupCopy.target == "nas").state == "failed"
        assert OperationRun.select().order_by(OperationRun.id.desc()).get().outcome == "partial"

        nas.start()
        time.sleep(1.1)  # the retry backoff (retry_base_seconds = 1)
        caught = run_backup(settings, show_progress=False)

        assert caught.failed == {}
        assert (missed.backup_id, "nas") in caught.caught_up
        nas_target = open_targets(settings, "nas")[0]
        assert backups_on(nas_target.list()) == (sorted([missed.backup_id, caught.backup_id]), [])
    finally:
        nas.stop()


def test_an_unreachable_s3_endpoint_fails_fast_and_the_local_copy_completes(shop, configure, home, tmp_path):
    from tests.servers.ports import free_port
    down = type("Down", (), {"endpoint": f"http://127.0.0.1:{free_port()}"})()
    settings = configure(local_target("disk", tmp_path / "disk"), s3_target("offsite", down, "nobucket", home))
    started = time.monotonic()

    report = run_backup(settings, show_progress=False)

    assert time.monotonic() - started < 20
    assert report.stored == ["disk"] and "offsite" in report.failed
    assert backups_on(open_targets(settings, "disk")[0].list()) == ([report.backup_id], [])


@contextmanager
def stopped_nas(configure, tmp_path, **backup_options):
    """(settings, nas): a local target and an SFTP target whose server is stopped; stopped again after."""
    nas = start_sshd(tmp_path / "sshd")
    try:
        settings = configure(local_target("disk", tmp_path / "disk"), sftp_target("nas", nas, "shop"),
                             **backup_options)
        nas.stop()
        yield settings, nas
    finally:
        nas.stop()


def test_a_server_back_within_seconds_gets_its_copy_in_the_same_run(shop, configure, tmp_path):
    with stopped_nas(configure, tmp_path, retries_in_run=2, retry_in_run_seconds=1.5) as (settings, nas):
        back = threading.Timer(0.5, nas.start)  # back before the first retry, 1.5 s after the failure
        back.start()

        report = _scheduled_backup(settings)
        back.join()

        assert report.failed == {} and sorted(report.stored) == ["disk", "nas"]
        copy = BackupCopy.get(BackupCopy.target == "nas")
        assert copy.state == "complete" and copy.attempts == 1  # one failed attempt, then the retry
        assert OperationRun.select().order_by(OperationRun.id.desc()).get().outcome == "ok"
        assert backups_on(open_targets(settings, "nas")[0].list()) == ([report.backup_id], [])


def test_a_server_that_stays_down_is_tried_again_then_left_to_catch_up(shop, configure, tmp_path):
    with stopped_nas(configure, tmp_path, retries_in_run=2, retry_in_run_seconds=0.2) as (settings, nas):
        started = time.monotonic()

        report = run_backup(settings, show_progress=False)

        assert time.monotonic() - started >= 0.2 + 0.4
        assert report.stored == ["disk"] and "cannot connect" in report.failed["nas"]
        copy = BackupCopy.get(BackupCopy.target == "nas")
        assert copy.state == "failed" and copy.attempts == 3 and copy.next_attempt_at is not None
