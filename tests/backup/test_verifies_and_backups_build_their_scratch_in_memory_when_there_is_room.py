"""A verify (`backup verify`, `replication verify`) builds its scratch restore, and a backup run its
payload, in a tmpfs (`backup.memory_scratch_dir`, /dev/shm) when it has room, so that they write no
scratch to the disk the orders are committed on (backup/staging.py says why); otherwise, and with
`scratch_in_memory = false`, in the staging directory. The same ownership rules hold in memory: a dead job's folder there is
removed, and each job leaves nothing behind."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from backup import replication, staging
from backup import verify as verifying
from backup.run import run_backup
from backup.staging import memory_scratch_dir, remove_abandoned, staging_dir, take_folder

from tests.servers.required import need
from tests.servers.waiting import wait_for

from .helpers import local_target, sftp_target
from .replication_helpers import add_orders, caught_up, replication_options

REPO = Path(__file__).resolve().parents[2]
SHM = Path("/dev/shm")


@pytest.fixture
def tmpfs() -> Path:
    if not SHM.is_dir() or staging._file_system_type(SHM) not in staging.TMPFS:
        need("a tmpfs on /dev/shm", "the memory scratch tests build their restores there (Debian mounts one)")
    return SHM


@pytest.fixture
def taken(monkeypatch) -> list[tuple[str, Path, str]]:
    """Every working folder taken, as (job, folder, its contents' names when it is released)."""
    seen: list[tuple[str, Path, str]] = []
    take = staging.take_folder

    def recording(settings, job, in_memory=None):
        folder = take(settings, job, in_memory)
        release = folder.release

        def released():
            seen.append((job, folder.path, " ".join(sorted(p.name for p in folder.path.iterdir()))))
            release()
        folder.release = released
        return folder
    monkeypatch.setattr(staging, "take_folder", recording)
    return seen


def test_a_backup_and_a_verify_of_a_copy_and_of_the_replica_work_in_memory_and_leave_nothing_there(
        shop, configure, sshd_server, tmp_path, tmpfs, taken):
    settings = configure(local_target("disk", tmp_path / "disk"), sftp_target("nas", sshd_server, "mem"),
                         **replication_options("nas"))
    assert run_backup(settings, show_progress=False).outcome == "ok"
    supervisor = replication.Supervisor(settings).start()
    try:
        add_orders(settings, 5)
        wait_for(lambda: caught_up(settings), what="the replica to hold the orders")
        outcomes = verifying.verify(settings, show_progress=False)
        verified = replication.verify(settings, show_progress=False)
    finally:
        supervisor.stop()

    assert outcomes and all(o.ok for o in outcomes), [o.detail for o in outcomes]
    assert verified.counts["orders"] >= 5
    memory = memory_scratch_dir(settings)
    where = {(job if job.startswith("replica-") else job.split("-")[0]): folder.parent for job, folder, _ in taken}
    # the shipper's (seen when it let go of one before the end): files it keeps until they are shipped
    assert where.pop("replica-sealing", staging_dir(settings)) == staging_dir(settings)
    assert where == {"backup": memory, "verify": memory, "replica-verify": memory, "replica-restore": memory}, where
    assert len(list((tmp_path / "disk").rglob("*.aes"))) >= 1  # the backup's copy is on its target all the same
    # what was built there: the copies' restored databases, the unsealed replica and its restore
    built = " ".join(contents for _, _, contents in taken)
    assert "snapshot" in built and "verified.db" in built and "replica" in built, built
    assert not memory.exists()  # each job removed its folder, the last one the box's
    assert not any(staging_dir(settings).glob("*verify*"))


def test_a_verify_uses_the_staging_directory_when_memory_is_short_not_a_tmpfs_or_turned_off(
        shop, configure, tmp_path, tmpfs):
    settings = configure(local_target("disk", tmp_path / "disk"))
    small = take_folder(settings, "verify-small", in_memory=1 << 20)
    huge = take_folder(settings, "verify-huge", in_memory=1 << 50)  # more than a quarter of any memory
    plain = take_folder(settings, "backup-1")  # a job that does not ask
    try:
        assert small.path.parent == memory_scratch_dir(settings) and small.path.is_dir()
        assert huge.path.parent == staging_dir(settings) and plain.path.parent == staging_dir(settings)
    finally:
        for folder in (small, huge, plain):
            folder.release()
    assert not memory_scratch_dir(settings).exists()

    not_tmpfs = configure(local_target("disk", tmp_path / "disk"), memory_scratch_dir="/proc")
    off = configure(local_target("disk", tmp_path / "disk"), scratch_in_memory=False)
    for settings in (not_tmpfs, off):
        folder = take_folder(settings, "verify-small", in_memory=1 << 20)
        try:
            assert folder.path.parent == staging_dir(settings)
        finally:
            folder.release()


TAKE_IN_MEMORY_AND_WAIT = """
import sys, time
from appliance import config
from backup.staging import take_folder
from cli.wiring import register_settings
register_settings()
folder = take_folder(config.load(sys.argv[1], environ={}), "verify-dead", in_memory=1 << 20)
print(folder.path, flush=True)
time.sleep(120)
"""


def test_the_folder_in_memory_of_a_job_killed_mid_way_is_removed_and_a_live_ones_is_not(
        shop, configure, home, tmp_path, tmpfs):
    settings = configure(local_target("disk", tmp_path / "disk"))
    child = subprocess.Popen([sys.executable, "-c", TAKE_IN_MEMORY_AND_WAIT, str(home)], cwd=REPO,
                             stdout=subprocess.PIPE, text=True)
    try:
        dead_folder = Path(child.stdout.readline().strip())
        assert dead_folder.parent == memory_scratch_dir(settings) and dead_folder.is_dir()
        (dead_folder / "snapshot").write_bytes(b"half a restore")
        live = take_folder(settings, "verify-live", in_memory=1 << 20)
        os.kill(child.pid, signal.SIGKILL)
        child.wait(10)

        assert remove_abandoned(settings) == [dead_folder]
        assert not dead_folder.exists() and live.path.is_dir()
        live.release()
        assert not memory_scratch_dir(settings).exists()
    finally:
        if child.poll() is None:
            child.kill()
        child.wait(10)


def test_jobs_in_memory_at_once_never_lose_their_folder_to_one_that_ends(shop, configure, tmp_path, tmpfs):
    settings = configure(local_target("disk", tmp_path / "disk"))
    errors: list[BaseException] = []

    def take_and_release_many() -> None:  # the box's folder is removed and made again under it
        try:
            for n in range(200):
                take_folder(settings, f"verify-{n}", in_memory=1 << 10).release()
        except BaseException as e:  # noqa: BLE001 - reported below
            errors.append(e)

    threads = [threading.Thread(target=take_and_release_many) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert errors == []
    assert not memory_scratch_dir(settings).exists()
