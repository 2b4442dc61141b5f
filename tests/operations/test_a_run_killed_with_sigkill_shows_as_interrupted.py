"""A run whose process is killed with SIGKILL cannot record its own end: the next start finds its
process gone and marks it interrupted (never "running" forever), and its lock is free again."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap

from appliance import operations
from appliance.models import OperationRun
from tests.servers.waiting import wait_for

from . import helpers  # noqa: F401 - registers the test operations

CHILD = textwrap.dedent("""
    import sys
    from appliance import config, operations, runtime
    from cli.wiring import extra_models, register_operations, register_settings
    register_settings(); register_operations()
    import tests.operations.helpers
    settings = runtime.bootstrap(sys.argv[1], extra_models=extra_models())
    operations.execute(settings, "tests.wait", {"seconds": 120}, actor=operations.Actor("ana", "admin"))
""")


def test_a_killed_run_is_interrupted_at_the_next_start(settings, db, home):
    child = subprocess.Popen([sys.executable, "-c", CHILD, str(home)], cwd=os.getcwd())
    try:
        run = wait_for(lambda: OperationRun.get_or_none(OperationRun.outcome == "running"), timeout=30,
                       what="the child to begin its run")
        assert run.pid == child.pid
    finally:
        os.kill(child.pid, signal.SIGKILL)
        child.wait()

    operations.execute(settings, "tests.wait", {"seconds": 0}, actor=operations.Actor("ben", "admin"))

    killed = OperationRun.get_by_id(run.id)
    assert killed.outcome == "interrupted" and killed.finished_at is not None
    assert "interrupted" in killed.summary
    assert OperationRun.select().where(OperationRun.outcome == "running").count() == 0


def test_a_run_whose_process_lives_is_left_running(settings, db):
    me = __import__("psutil").Process()
    OperationRun.create(operation="tests.wait", actor="ana", actor_role="admin", source="cli",
                        pid=me.pid, pid_started=me.create_time())
    stranger = OperationRun.create(operation="tests.wait", actor="ana", actor_role="admin", source="cli",
                                   pid=me.pid, pid_started=me.create_time() - 1000)  # the pid was reused

    assert operations.reap_interrupted(settings) == 1
    assert OperationRun.get_by_id(stranger.id).outcome == "interrupted"
    assert OperationRun.select().where(OperationRun.outcome == "running").count() == 1
