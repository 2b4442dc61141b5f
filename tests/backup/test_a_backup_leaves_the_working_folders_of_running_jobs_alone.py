"""Each job owns its working folder in the staging directory (an flock on its `.owner` file for as
long as it uses it), and `backup run` removes at its start only the folders whose owner is gone: a
backup started while a replica restore, a verify and the replica shipper are mid-way leaves all
three intact and each finishes ok; the folder of a job killed with -9 is removed, the folder of a
live job (in another process or this one) is not, nor a young folder without an owner file."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

from backup import archive, replication, sealed_replica
from backup import verify as verifying
from backup.run import run_backup
from backup.staging import UNOWNED_GRACE_SECONDS, remove_abandoned, scratch_dirs, staging_dir, take_folder

from tests.servers.waiting import wait_for

from .helpers import local_target, sftp_target
from .replication_helpers import add_orders, caught_up, order_numbers, replication_options

REPO = Path(__file__).resolve().parents[2]


class Hold:
    """Stops the thread named `thread` inside a patched function until `release()`; remembers the
    working folder it was using."""

    def __init__(self, thread: str):
        self.thread, self.reached, self.go = thread, threading.Event(), threading.Event()
        self.folder: Path | None = None
        self.armed = True

    def __call__(self, folder: Path) -> None:
        if self.armed and threading.current_thread().name == self.thread:
            self.armed = False
            self.folder = folder
            self.reached.set()
            assert self.go.wait(60), f"{self.thread} was never released"

    def release(self) -> None:
        self.go.set()


def test_a_backup_started_mid_way_through_a_restore_a_verify_and_a_shipping_pass_leaves_all_three_intact(
        shop, configure, sshd_server, tmp_path, monkeypatch):
    settings = configure(local_target("disk", tmp_path / "disk"), sftp_target("nas", sshd_server, "busy"),
                         **replication_options("nas"))
    assert run_backup(settings, show_progress=False).outcome == "ok"  # a copy for the verify to check

    verify_hold, restore_hold, shipper_hold = Hold("held-verify"), Hold("held-restore"), Hold("replica-shipper")
    shipper_hold.armed = False  # armed once the replica has caught up
    extract, unseal, seal = archive.extract, sealed_replica.unseal, sealed_replica.seal

    def held_extract(payload, manifest, key, out, *args, **kwargs):  # the verify is decoding in its folder
        verify_hold(Path(out).parent)
        return extract(payload, manifest, key, out, *args, **kwargs)

    def held_unseal(sealed, *args, **kwargs):  # the restore is downloading its first replica file
        restore_hold(Path(getattr(sealed, "path", sealed)).parent)
        return unseal(sealed, *args, **kwargs)

    def held_seal(source, sealed, *args, **kwargs):  # the shipper has sealed a file, not yet uploaded it
        seal(source, sealed, *args, **kwargs)
        shipper_hold(Path(sealed).parent)

    shipping_failures: list[str] = []
    ship_once = sealed_replica.Shipper.ship_once

    def recorded_ship_once(self):
        try:
            return ship_once(self)
        except Exception as e:
            shipping_failures.append(getattr(e, "message", None) or repr(e))
            raise

    monkeypatch.setattr(archive, "extract", held_extract)
    monkeypatch.setattr(sealed_replica, "unseal", held_unseal)
    monkeypatch.setattr(sealed_replica, "seal", held_seal)
    monkeypatch.setattr(sealed_replica.Shipper, "ship_once", recorded_ship_once)

    results: dict[str, object] = {}

    def run(name: str, fn) -> threading.Thread:
        def body():
            try:
                results[name] = fn()
            except BaseException as e:  # noqa: BLE001 - the test reports it
                results[name] = e
        thread = threading.Thread(target=body, name=name, daemon=True)
        thread.start()
        return thread

    supervisor = replication.Supervisor(settings).start()
    holds = (verify_hold, restore_hold, shipper_hold)
    try:
        first = wait_for(lambda: caught_up(settings), what="the first sync")["local_txid"]
        acknowledged = add_orders(settings, 5)
        second = wait_for(lambda: (f := caught_up(settings)) and f["local_txid"] > first and f,
                          what="the replica to hold the orders")["local_txid"]
        restored = tmp_path / "from-replica.db"
        threads = [run("held-verify", lambda: verifying.verify(settings, target="nas", show_progress=False)),
                   run("held-restore", lambda: replication.restore(settings, output=str(restored),
                                                                   show_progress=False))]
        shipper_hold.armed = True
        later = add_orders(settings, 3, start=5)  # a new file for the shipper to seal
        for hold in holds:
            assert hold.reached.wait(30), f"{hold.thread} never got mid-way"
        folders = [hold.folder for hold in holds]
        assert all(f.is_dir() and f.parent in scratch_dirs(settings) for f in folders)  # a verify's may be in memory

        report = run_backup(settings, show_progress=False)

        assert report.outcome == "ok", report.failed
        assert [f for f in folders if not f.is_dir()] == []  # nobody's folder was removed under them
        for hold in holds:
            hold.release()
        for thread in threads:
            thread.join(120)
        wait_for(lambda: (f := caught_up(settings)) and f["local_txid"] > second and f,
                 what="the shipper to finish its pass")
    finally:
        for hold in holds:
            hold.release()
        supervisor.stop()

    outcomes = results["held-verify"]
    assert not isinstance(outcomes, BaseException), outcomes
    assert outcomes and all(o.ok for o in outcomes), [o.detail for o in outcomes]
    restore = results["held-restore"]
    assert not isinstance(restore, BaseException), restore
    assert set(acknowledged) <= order_numbers(restored)
    assert shipping_failures == []
    assert set(later) <= order_numbers(_restore_again(settings, tmp_path))
    assert [f for f in folders if f.exists()] == []  # each job removed its own folder at its end


def _restore_again(settings, tmp_path: Path) -> Path:
    out = tmp_path / "after.db"
    replication.restore(settings, output=str(out), show_progress=False)
    return out


# -- which folders are abandoned ---------------------------------------------------------------

TAKE_AND_WAIT = """
import sys, time
from appliance import config
from backup.staging import take_folder
from cli.wiring import register_settings
register_settings()
folder = take_folder(config.load(sys.argv[1], environ={}), sys.argv[2])
print(folder.path, flush=True)
time.sleep(120)
"""


def _job_in_a_child(home: Path, job: str) -> tuple[subprocess.Popen, Path]:
    child = subprocess.Popen([sys.executable, "-c", TAKE_AND_WAIT, str(home), job], cwd=REPO,
                             stdout=subprocess.PIPE, text=True)
    line = child.stdout.readline().strip()
    assert line and Path(line).is_dir(), f"the child job did not take its folder (exit {child.poll()})"
    return child, Path(line)


def test_the_folder_of_a_dead_job_is_removed_and_the_folder_of_a_live_one_is_not(
        shop, configure, home, tmp_path):
    settings = configure(local_target("disk", tmp_path / "disk"))
    dead, dead_folder = _job_in_a_child(home, "verify-dead")
    live, live_folder = _job_in_a_child(home, "replica-restore-live")
    try:
        (dead_folder / "payload.zst.aes").write_bytes(b"half a download")
        os.kill(dead.pid, signal.SIGKILL)
        dead.wait(10)  # gone, not even a zombie: its pid may be anyone's now
        mine = take_folder(settings, "verify-here")  # a job of this very process
        staging = staging_dir(settings)
        legacy = staging / "20240101T000000Z-0001"  # a run's folder from before owner files
        legacy.mkdir()
        (legacy / "payload.zst.aes").write_bytes(b"x")
        old = time.time() - UNOWNED_GRACE_SECONDS - 60
        os.utime(legacy, (old, old))
        young = staging / "just-made"  # an owner between making its folder and locking it
        young.mkdir()

        assert run_backup(settings, show_progress=False).outcome == "ok"  # cleans up at its start

        assert not dead_folder.exists() and not legacy.exists()
        assert live_folder.is_dir() and mine.path.is_dir() and young.is_dir()
        assert remove_abandoned(settings) == []  # nothing else is abandoned
        mine.release()
        assert not mine.path.exists()
    finally:
        for child in (dead, live):
            if child.poll() is None:
                child.kill()
            child.wait(10)
            child.stdout.close()
    assert remove_abandoned(settings) == [live_folder]  # its owner is gone now
