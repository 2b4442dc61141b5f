"""The primary's shipper (backup/replication/supervisor.py) starts a pass every SHIP_SECONDS, counted
from the start of the previous pass, not from its end: a pass that seals and uploads files takes its
time on a loaded box, and each of those came on top of the standby's lag (files reached the replica
in bursts, 0.4-0.7 s after their capture). A pass that took longer than the interval is followed by
the next after a short pause; after a failed pass the shipper backs off as before."""
from __future__ import annotations

import statistics
import time

import pytest

from appliance import config
from backup import replication
from backup.replication import supervisor as shipping

from tests.backup.conftest import make_shop
from tests.backup.helpers import sftp_target, write_targets
from tests.backup.replication_helpers import add_orders, caught_up, replication_options
from tests.servers.sshd import sshd_server  # noqa: F401
from tests.servers.waiting import wait_for

SLOW_PASS_SECONDS = 0.15  # what each pass is made to take on top of its own work


def test_passes_start_one_interval_apart_however_long_each_takes(settings, db, home, sshd_server):  # noqa: F811
    make_shop(settings, n_orders=2)
    write_targets(home, [sftp_target("nas", sshd_server, "paced")], replication_options("nas"))
    primary = config.load(home, environ={"APPLIANCE_DATABASE_URL": settings.database.url})
    supervisor = replication.Supervisor(primary)
    starts: list[float] = []
    ship_once = supervisor.shipper.ship_once

    def slow_pass() -> bool:  # the real pass (Litestream's outbox, SFTP), made slower than a loaded box's
        starts.append(time.monotonic())
        shipped = ship_once()
        time.sleep(SLOW_PASS_SECONDS)
        return shipped

    supervisor.shipper.ship_once = slow_pass
    supervisor.start()
    try:
        wait_for(lambda: caught_up(primary), what="the primary's first sync")
        add_orders(primary, 3, start=10)
        wait_for(lambda: caught_up(primary), what="the new orders shipped")
        counted = len(starts)
        time.sleep(2)
        gaps = [b - a for a, b in zip(starts[counted:], starts[counted + 1:])]
    finally:
        supervisor.stop()

    assert shipping.SHIP_SECONDS == 0.25  # the interval the figures below are for
    assert len(gaps) >= 3
    # From end to end the gaps were the interval plus the pass: >= 0.40 s. Start to start: the interval,
    # and a loaded machine's lateness on top (the median keeps one late wake-up out).
    assert statistics.median(gaps) < shipping.SHIP_SECONDS + SLOW_PASS_SECONDS - 0.05, gaps
    assert min(gaps) >= shipping.SHIP_SECONDS - 0.01, gaps


def test_a_pass_longer_than_the_interval_is_followed_after_a_short_pause_and_a_failed_one_backs_off():
    now = 100.0
    assert shipping.ship_pause(now - 0.1, 0, now) == pytest.approx(shipping.SHIP_SECONDS - 0.1)
    assert shipping.ship_pause(now - 2.0, 0, now) == shipping.SHIP_MIN_PAUSE_SECONDS
    assert [shipping.ship_pause(now - 0.1, failures, now) for failures in (1, 2, 3, 9)] == \
        [1, 2, 4, shipping.SHIP_RETRY_MAX_SECONDS]
