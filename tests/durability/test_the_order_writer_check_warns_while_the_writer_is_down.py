"""The monitors' `order_writer` check: ok while `appliance serve`'s order writer runs, warn while it
is down (the web workers then write orders themselves, far slower), ok again once serve restarted it."""
from __future__ import annotations

import contextlib
import os
import signal

import psutil
import pytest

from appliance.models import utcnow
from monitors import engine

from tests.servers.waiting import wait_for

from .stock_checks import box_database

pytestmark = pytest.mark.slow


def result(settings):
    """One run of the check, before the engine's flap filter (confirm_count) weighs it."""
    check = engine.catalog()["order_writer"]
    return engine.evaluate(check, engine.config_for(check, settings), settings, utcnow())


def test_the_check_warns_while_the_writer_is_down_and_clears_when_it_is_back(served):
    box = served()
    box.token("manager")
    box.start(workers=1)
    writer = box.writer_pid()

    with box_database(box.home) as settings:
        running = result(settings)
        assert running.state == "ok" and str(writer) in running.reason

        os.kill(writer, signal.SIGKILL)
        with contextlib.suppress(psutil.NoSuchProcess):  # its supervisor may have reaped it already (CI)
            psutil.Process(writer).wait(10)
        down = result(settings)  # serve waits 0.5 s before starting another
        assert down.state == "warn" and "not running" in down.reason

        new_writer = wait_for(lambda: (pid := box.writer_pid()) not in (None, writer) and pid, 30, "a new writer")
        back = wait_for(lambda: (r := result(settings)).state == "ok" and r, 30,
                        "the check to clear")
        assert str(new_writer) in back.reason
