"""The outbox (and so the replica) holds Litestream's snapshots of the retention window and the history
after them, not everything since the box started: `[backup.replication] snapshot_interval_seconds` and
`retention_seconds` reach the real Litestream, which then retires old snapshots while the box writes."""
from __future__ import annotations

import sqlite3
import subprocess
import time

from appliance import config
from backup.replication.config import child_env, litestream_binary, outbox_dir, write_config

from .helpers import sftp_target, write_targets
from .replication_helpers import replication_options


def test_old_snapshots_leave_the_outbox_while_the_box_writes(home, sshd_server):
    write_targets(home, [sftp_target("nas", sshd_server, "shop")],
                  replication_options("nas", snapshot_interval_seconds=2, retention_seconds=4,
                                      sync_interval_seconds=0.2))
    settings = config.load(home)
    db = sqlite3.connect(home / "appliance.db")
    db.execute("PRAGMA journal_mode=wal")
    db.execute("CREATE TABLE IF NOT EXISTS beat (n INTEGER)")
    db.commit()
    log = open(home / "litestream.log", "w")
    litestream = subprocess.Popen([litestream_binary(settings), "replicate", "-config", str(write_config(settings))],
                                  stdout=log, stderr=subprocess.STDOUT, env=child_env())
    try:
        for n in range(120):  # 12 s of writes: about six snapshot intervals
            db.execute("INSERT INTO beat VALUES (?)", (n,))
            db.commit()
            time.sleep(0.1)
    finally:
        litestream.terminate()
        litestream.wait(10)
        log.close()

    made = (home / "litestream.log").read_text().count("snapshot complete")
    kept = [p for p in (outbox_dir(settings) / "ltx" / "9").glob("*.ltx")]
    assert made >= 4, f"Litestream made {made} snapshots: the interval did not reach it"
    assert len(kept) <= 3, f"{len(kept)} of {made} snapshots still in the outbox: retention did not reach Litestream"
