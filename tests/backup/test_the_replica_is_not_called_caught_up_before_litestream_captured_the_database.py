"""Right after start, before Litestream has written its first snapshot of the database, the replica
holds nothing: replication facts must not report a lag of 0 ("every captured transaction") then —
a bench once waited for that and restored an empty replica."""
from __future__ import annotations

import os
import time

from appliance import config
from appliance.processes import ProcessRecord
from backup import replication
from backup.replication.state import write_state

from .helpers import sftp_target, write_targets
from .replication_helpers import replication_options


def _running_state(settings, **extra) -> None:
    me = ProcessRecord.of(os.getpid())
    write_state(settings, {"supervisor_pid": me.pid, "supervisor_started": me.started, "litestream_pid": me.pid,
                           "litestream_started": me.started, "updated_at": time.time(), **extra})


def test_nothing_captured_yet_has_no_lag_figure_and_says_why(home, sshd_server):
    write_targets(home, [sftp_target("nas", sshd_server, "shop")], replication_options("nas"))
    settings = config.load(home)
    _running_state(settings, replica_txid=0)

    facts = replication.facts(settings)

    assert facts["running"] is True
    assert facts["lag_seconds"] is None
    assert facts["reason"] == "Litestream has not captured the database yet"
