"""A replica holds every level's copy of the same transactions (the level-0 files, their
compactions, the snapshots): several times the database. A restore of the newest state downloads
only the files Litestream's restore plan reads — the newest snapshot and the files extending it
furthest — and has every acknowledged order; a restore as of a time still downloads every file."""
from __future__ import annotations

import json
import subprocess

from backup import replication, sealed_replica
from backup.replication.config import child_env, database_path, litestream_binary, write_config

from tests.servers.waiting import wait_for

from .helpers import sftp_target
from .replication_helpers import add_orders, caught_up, order_numbers, replication_options


def key(level: int, lo: int, hi: int) -> str:
    return f"{level}/{lo:016x}-{hi:016x}.ltx.aes"


def test_the_plan_starts_at_the_newest_snapshot_and_takes_the_furthest_reaching_file_at_any_level():
    keys = [key(9, 1, 10), key(9, 1, 40), key(0, 1, 1), key(0, 41, 41), key(0, 42, 42), key(1, 41, 42),
            key(0, 43, 43), key(2, 41, 43), key(0, 44, 44), key(1, 30, 44)]

    plan, gap = sealed_replica.restore_plan(keys)

    # 1-40 from the snapshot; 41-44 by the level-1 file starting before it (reaches furthest).
    assert plan == [key(9, 1, 40), key(1, 30, 44)] and gap is None


def test_ties_go_to_the_lower_start_then_the_higher_level_and_a_gap_is_reported():
    assert sealed_replica.restore_plan([key(0, 1, 5), key(1, 1, 5), key(0, 6, 8)])[0] == [key(1, 1, 5), key(0, 6, 8)]
    plan, gap = sealed_replica.restore_plan([key(9, 1, 10), key(0, 11, 12), key(0, 14, 15)])
    assert plan == [key(9, 1, 10), key(0, 11, 12)] and gap == 12
    assert sealed_replica.chain_gap([key(0, 1, 3), key(0, 4, 4)]) is None


def litestreams_own_plan(settings, tmp_path) -> list[str]:
    """`litestream restore -dry-run` over the box's outbox (the replica's files, unsealed), as remote keys."""
    config = write_config(settings, tmp_path / "dry-run.yml")
    done = subprocess.run([litestream_binary(settings), "restore", "-dry-run", "-json", "-config", str(config),
                           "-o", str(tmp_path / "dry-run.db"), str(database_path(settings))],
                          capture_output=True, text=True, env=child_env(), check=True)
    return [f"{f['level']}/{f['name'][:-len('.ltx')]}{sealed_replica.SEALED_SUFFIX}" for f in json.loads(done.stdout)["files"]]


class CountingReplica:
    """The replica's real target, noting what a restore lists and downloads."""

    def __init__(self, target, log: dict):
        self._target, self.log = target, log

    def list(self):
        self.log["listed"] = self._target.list()
        return self.log["listed"]

    def get(self, key, dest, progress=None):
        self.log["downloaded"].append(key)
        return self._target.get(key, dest, progress)

    def get_stream(self, key, sink, progress=None):
        self.log["downloaded"].append(key)
        return self._target.get_stream(key, sink, progress)

    def __getattr__(self, name):
        return getattr(self._target, name)


def test_a_restore_downloads_the_plan_and_has_every_acknowledged_order(shop, configure, sshd_server, tmp_path,
                                                                        monkeypatch):
    settings = configure(sftp_target("nas", sshd_server, "planned"), **replication_options("nas"))
    supervisor = replication.Supervisor(settings).start()
    try:
        seen = wait_for(lambda: caught_up(settings), what="the first sync")["local_txid"]
        acknowledged = []
        for batch in range(3):
            acknowledged += add_orders(settings, 2, start=batch * 2)
            seen = wait_for(lambda: (f := caught_up(settings)) and f["local_txid"] > seen and f,
                            what="the replica to catch up")["local_txid"]
    finally:
        supervisor.stop()
    log = {"downloaded": []}
    real = sealed_replica.open_replica_target
    monkeypatch.setattr(sealed_replica, "open_replica_target", lambda *args: CountingReplica(real(*args), log))

    newest = replication.restore(settings, output=str(tmp_path / "newest.db"), show_progress=False)

    files = [k for k in log["listed"] if sealed_replica.REMOTE_KEY.match(k)]
    planned = [k for k in log["downloaded"] if k != sealed_replica.INDEX_KEY]
    assert planned == sealed_replica.restore_plan(files)[0] == litestreams_own_plan(settings, tmp_path)
    assert len(planned) < len(files)  # the first sync's level-0 file is in the snapshot too
    assert set(acknowledged) <= order_numbers(tmp_path / "newest.db") and newest.missing is None

    log["downloaded"].clear()
    replication.restore(settings, output=str(tmp_path / "as-of.db"), timestamp="2100-01-01T00:00:00Z",
                        show_progress=False)
    assert sorted(k for k in log["downloaded"] if k != sealed_replica.INDEX_KEY) == sorted(files)
    assert set(acknowledged) <= order_numbers(tmp_path / "as-of.db")
