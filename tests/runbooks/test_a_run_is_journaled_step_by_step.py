"""A run journals every step as it happens (state, attempt, who, start, end, output) in an fsynced
file under the home that outlives the database; actions go through the operations registry and
land in its ledger; a dry run runs checks for real and only says what actions would do."""
from __future__ import annotations

import json

from appliance import operations
from appliance.models import OperationRun
from runbooks import engine
from runbooks.journal import Journal

from .helpers import step, write

ADMIN = operations.Actor("ada", "admin")


def _shop_runbook(library):
    write(library, "tidy",
          step("look", "check", operation="orders.inspect", expect="{state: ok}", phase="diagnose"),
          step("note", "shell", command="echo tidy-${who} > tidied.txt; echo done"),
          step("prune", "action", operation="backup.prune", params="{dry_run: true}"),
          step("still-whole", "verify", operation="audit.verify", expect="{state: ok}"),
          params="params:\n  - {name: who, default: nobody}")


def test_every_step_is_journaled_and_the_actions_are_operations(settings, db, library):
    _shop_runbook(library)
    said = []

    view = engine.start(settings, "tidy", {"who": "ada"}, ADMIN, say=said.append)

    assert view.status == "completed"
    assert said[0] == f"run {view.id}"
    assert [(s, v.state, v.attempt, v.actor) for s, v in view.steps.items()] == [
        ("look", "ok", 1, "ada"), ("note", "ok", 1, "ada"), ("prune", "ok", 1, "ada"), ("still-whole", "ok", 1, "ada")]
    assert (settings.home / "tidied.txt").read_text() == "tidy-ada\n"
    records = [json.loads(line) for line in Journal(settings.home, view.id).path.read_text().splitlines()]
    assert [r.get("state") or r["event"] for r in records][:3] == ["started", "running", "ok"]
    assert records[-1] == {**records[-1], "type": "run", "event": "ended", "status": "completed"}
    ledger = {(r.operation, r.source, r.actor) for r in OperationRun.select()}
    assert ledger == {("orders.inspect", "runbook", "ada"), ("backup.prune", "runbook", "ada"),
                      ("audit.verify", "runbook", "ada")}
    assert any(line.startswith("RTO clock: ") and "(budget 10 min 00 s)" in line for line in said)


def test_a_dry_run_checks_for_real_and_changes_nothing(settings, db, library):
    _shop_runbook(library)
    said = []

    view = engine.start(settings, "tidy", {}, ADMIN, dry_run=True, say=said.append)

    assert view.status == "completed" and view.dry_run
    assert view.steps["look"].state == "ok" and view.steps["still-whole"].state == "ok"
    assert view.steps["note"].state == "dry-run" and not (settings.home / "tidied.txt").exists()
    assert "    would run backup.prune with {\"dry_run\": true}" in said
    assert {r.operation for r in OperationRun.select()} == {"orders.inspect", "audit.verify"}


def test_a_failed_check_stops_the_run_and_says_what_it_found(settings, db, library):
    write(library, "strict", step("expects-orders", "check", operation="orders.inspect", expect="{orders: 5}"),
          step("never", "shell", command="touch never-ran"))

    view = engine.start(settings, "strict", {}, ADMIN)

    assert view.status == "failed" and view.reason == "step expects-orders failed"
    assert view.steps["expects-orders"].error == "expected orders=5; got orders=0"
    assert "never" not in view.steps and not (settings.home / "never-ran").exists()


def test_an_ended_run_is_copied_into_the_database_so_backups_carry_it(settings, db, library):
    from runbooks.models import RunbookRun
    _shop_runbook(library)

    view = engine.start(settings, "tidy", {}, ADMIN)

    copy = RunbookRun.get(RunbookRun.run_id == view.id)
    assert copy.status == "completed" and copy.runbook == "tidy" and copy.actor == "ada" and not copy.drill
    assert [s["id"] for s in json.loads(copy.steps_json)] == ["look", "note", "prune", "still-whole"]
