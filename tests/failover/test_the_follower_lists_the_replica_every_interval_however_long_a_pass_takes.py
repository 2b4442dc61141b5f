"""The standby's follower starts a pass every `follow_interval_seconds`, counted from the start of the
previous pass, not from its end: on a loaded box a pass (the signed index, the listing, the new files)
took 0.05-0.35 s, and each of those came on top of the standby's lag. A pass that took longer than
the interval is followed by the next after a short pause, and one that could not read the replica by
a whole interval (a target that times out is not asked again at once)."""
from __future__ import annotations

import time

from appliance import config
from failover import standby

from tests.backup.helpers import sftp_target, write_targets
from tests.backup.replication_helpers import replication_options
from tests.servers.sshd import sshd_server  # noqa: F401


def test_the_next_pass_starts_one_interval_after_the_previous_one_started(home, sshd_server):  # noqa: F811
    write_targets(home, [sftp_target("nas", sshd_server, "paced")], replication_options("nas"))
    follower = standby.Follower(config.load(home, environ={"APPLIANCE_DATABASE_URL": "sqlite:///appliance.db"}))
    try:
        interval = follower.interval
        assert interval == 0.25  # the default the figures below are for

        now = time.monotonic()
        short_pass = follower._pause_after(now - 0.1, read=True)
        assert interval - 0.1 - 0.04 <= short_pass <= interval - 0.1
        assert follower._pause_after(now - 2.0, read=True) == standby.MIN_PAUSE_SECONDS
        assert follower._pause_after(now - 0.1, read=False) == interval
    finally:
        follower.mirror.close()
