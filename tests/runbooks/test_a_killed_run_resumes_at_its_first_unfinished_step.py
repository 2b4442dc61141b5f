"""A run whose process is killed with SIGKILL in the middle of a step shows as interrupted; `resume`
continues at that step (re-running the preconditions marked to re-run, not the steps already done),
and a step that is not safe to repeat is not repeated without a person saying so."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap

import pytest

from appliance import operations
from runbooks import engine
from runbooks.journal import Journal
from tests.servers.waiting import wait_for

from .helpers import step, write

ADMIN = operations.Actor("ada", "admin")

CHILD = textwrap.dedent("""
    import sys
    from pathlib import Path
    from appliance import config, operations, runtime
    from cli.wiring import extra_models, register_operations, register_settings
    from runbooks import engine, loader
    register_settings(); register_operations()
    loader.LIBRARY = Path(sys.argv[2])
    settings = runtime.bootstrap(sys.argv[1], extra_models=extra_models())
    engine.start(settings, "slow", {}, operations.Actor("ada", "admin"), run_id=sys.argv[3])
""")


def _kill_during_step_two(home, library, safe: str) -> str:
    write(library, "slow",
          step("precondition", "shell", command="echo x >> precondition.log", rerun_on_resume="true"),
          step("first", "shell", command="echo x >> first.log"),
          step("restore", "shell", command="echo x >> restore.log; sleep 60", timeout_seconds=120,
               safe_to_repeat=safe),
          step("last", "shell", command="echo x >> last.log"))
    run_id = "rb-20261202T000000Z-test"
    child = subprocess.Popen([sys.executable, "-c", CHILD, str(home), str(library), run_id])
    try:
        wait_for(lambda: (home / "restore.log").exists(), timeout=30, what="the restore step to begin")
    finally:
        os.kill(child.pid, signal.SIGKILL)
        child.wait()
    return run_id


def test_a_killed_run_is_interrupted_and_resumes_where_it_stopped(settings, db, home, library):
    run_id = _kill_during_step_two(home, library, "true")
    view = Journal(home, run_id).view()
    assert view.status == "interrupted" and view.steps["restore"].state == "running"
    (library / "slow.yaml").write_text((library / "slow.yaml").read_text().replace("sleep 60", "true"))

    view = engine.resume(settings, run_id, ADMIN)

    assert view.status == "completed"
    assert (home / "first.log").read_text() == "x\n"                # done before: not again
    assert (home / "precondition.log").read_text() == "x\nx\n"      # a precondition runs again
    assert (home / "restore.log").read_text() == "x\nx\n" and view.steps["restore"].attempt == 2
    assert [e["event"] for e in view.events][:2] == ["started", "resumed"]
    assert view.events[1]["after"] == "interrupted"


def test_a_step_not_safe_to_repeat_asks_before_repeating(settings, db, home, library):
    run_id = _kill_during_step_two(home, library, "false")

    with pytest.raises(engine.RunbookError, match="Step restore was running when the run stopped and is not safe "
                                                  "to repeat"):
        engine.resume(settings, run_id, ADMIN)
    assert (home / "restore.log").read_text() == "x\n"

    (library / "slow.yaml").write_text((library / "slow.yaml").read_text().replace("sleep 60", "true"))
    assert engine.resume(settings, run_id, ADMIN, assume_yes=True).status == "completed"
