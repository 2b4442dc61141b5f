"""`appliance runbook …` as an IT person types it: run prints the run id first and stops at a step
that waits, confirm lets it go on, runs lists it with its status against the RTO budget, a failed
run exits non-zero with one line, lint says what is wrong."""
from __future__ import annotations

import json

from click.testing import CliRunner

from cli import main

from .helpers import step, write


def _cli(home, *args):
    return CliRunner().invoke(main, ["--home", str(home), "runbook", *args])


def test_run_confirm_and_runs(home, db, library):
    write(library, "till", step("look", "check", operation="orders.inspect", expect="{state: ok}"),
          step("paper", "manual", instruction="Take orders on paper."),
          step("done", "shell", command="echo ok"))

    started = _cli(home, "run", "till")
    assert started.exit_code == 0, started.output
    run_id = started.output.splitlines()[0].removeprefix("run ")
    assert f"appliance runbook confirm {run_id} paper" in started.output
    assert f"run {run_id} is waiting: step paper waits for admin" in started.output

    confirmed = _cli(home, "confirm", run_id, "paper", "--note", "paper pads out")
    assert confirmed.exit_code == 0, confirmed.output
    assert f"run {run_id} completed" in confirmed.output

    listed = json.loads(_cli(home, "runs", "--json").output)
    assert listed[0]["id"] == run_id and listed[0]["status"] == "completed"
    assert [s["state"] for s in listed[0]["steps"]] == ["ok", "confirmed", "ok"]


def test_a_failed_run_exits_non_zero_with_one_line(home, db, library):
    write(library, "broken", step("fails", "shell", command="exit 4"))

    result = _cli(home, "run", "broken")

    assert result.exit_code == 1
    assert result.output.splitlines()[-1].startswith("Error: Run rb-") and "failed: step fails failed" in result.output


def test_an_unknown_parameter_is_refused_before_anything_runs(home, db, library):
    write(library, "p", step("s", "shell", command="echo ${x}"), params="params:\n  - {name: x, default: a}")

    result = _cli(home, "run", "p", "--param", "y=1")

    assert result.exit_code == 1 and "Runbook p takes no parameter y (it takes: x)." in result.output
    assert list(home.glob("runbooks/runs/*.jsonl")) == []


def test_lint_names_a_target_this_box_does_not_have(home, db, library):
    write(library, "from-nas", step("verify-nas", "action", operation="backup.verify", params="{target: nas}"))

    result = _cli(home, "lint")

    assert result.exit_code == 1
    assert "step 1 (verify-nas): target 'nas' is not configured on this box (targets: local)." in result.output
