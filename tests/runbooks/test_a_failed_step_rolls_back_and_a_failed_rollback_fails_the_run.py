"""`on_failure: rollback` undoes what the run did, newest first; when a rollback step fails too, the
run says so and fails (a rollback that did not work is never reported as a success)."""
from __future__ import annotations

from appliance import operations
from runbooks import engine


ADMIN = operations.Actor("ada", "admin")

RUNBOOK = """
  - id: make
    kind: shell
    title: make a file
    command: echo made > made.txt
    timeout_seconds: 10
    expected_seconds: 1
    rollback:
      - {id: unmake, kind: shell, title: remove it, command: "UNDO", timeout_seconds: 10, expected_seconds: 1}
  - id: break
    kind: shell
    title: fail
    command: exit 1
    timeout_seconds: 10
    expected_seconds: 1
    on_failure: rollback
    rollback:
      - {id: unbreak, kind: shell, title: note it, command: "echo undone >> undo.log", timeout_seconds: 10, expected_seconds: 1}
"""


def _runbook(library, undo: str) -> None:
    (library / "roll.yaml").write_text("id: roll\ntitle: Roll back\nwhen: {symptoms: [test]}\nroles: [admin]\n"
                                       "rto_budget_seconds: 60\nsteps:" + RUNBOOK.replace("UNDO", undo))


def test_a_failure_rolls_back_newest_first(settings, db, library):
    _runbook(library, "rm made.txt && echo removed >> undo.log")

    view = engine.start(settings, "roll", {}, ADMIN)

    assert view.status == "failed" and view.reason == "step break failed; rolled back"
    assert (settings.home / "undo.log").read_text() == "undone\nremoved\n"
    assert not (settings.home / "made.txt").exists()


def test_a_failed_rollback_fails_the_run_and_says_so(settings, db, library):
    _runbook(library, "exit 7")

    view = engine.start(settings, "roll", {}, ADMIN)

    assert view.status == "failed" and view.reason == "step break failed; its rollback failed too"
    assert view.steps["unmake"].state == "failed" and view.steps["unmake"].error == "exit status 7"
