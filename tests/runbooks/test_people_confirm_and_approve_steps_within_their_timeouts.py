"""Manual and approve steps wait for a person with the step's role, and never forever: a staff user
cannot confirm an admin step, an approval that does not come in time ends as the step declares
(stop the run, or go on), and a confirmation lets the run continue where it waited."""
from __future__ import annotations

from datetime import timedelta

import pytest

from appliance import clock, operations
from appliance.errors import Forbidden
from runbooks import engine

from .helpers import step, write

ADMIN = operations.Actor("ada", "admin")
STAFF = operations.Actor("sam", "staff")
MANAGER = operations.Actor("maria", "manager")


def _restore_runbook(library, on_timeout: str):
    write(library, "careful",
          step("stop-the-till", "manual", instruction="Stop the till screens.", timeout_seconds=600),
          step("manager-says-yes", "approve", instruction="Restore over the live database?", role="manager",
               on_timeout=on_timeout, timeout_seconds=900),
          step("after", "shell", command="echo went-on > after.txt"))


def test_a_manual_step_waits_and_staff_cannot_confirm_an_admin_step(settings, db, library):
    _restore_runbook(library, "stop")
    view = engine.start(settings, "careful", {}, ADMIN)
    assert view.status == "waiting" and view.steps["stop-the-till"].state == "waiting"

    with pytest.raises(Forbidden, match="step stop-the-till needs the admin role; sam is staff"):
        engine.confirm(settings, view.id, "stop-the-till", STAFF)

    view = engine.confirm(settings, view.id, "stop-the-till", ADMIN, "screens off")
    assert view.steps["stop-the-till"].state == "confirmed" and view.steps["stop-the-till"].actor == "ada"
    assert view.status == "waiting" and view.steps["manager-says-yes"].state == "waiting"


def test_an_approval_in_time_lets_the_run_go_on(settings, db, library):
    _restore_runbook(library, "stop")
    view = engine.start(settings, "careful", {}, ADMIN, assume_yes=True)  # --yes confirms manual steps only

    assert view.steps["stop-the-till"].output == "--yes" and view.status == "waiting"
    view = engine.confirm(settings, view.id, "manager-says-yes", MANAGER)

    assert view.status == "completed" and view.steps["manager-says-yes"].state == "approved"
    assert (settings.home / "after.txt").exists()


def test_an_approval_that_does_not_come_in_time_stops_the_run(settings, db, library):
    _restore_runbook(library, "stop")
    view = engine.start(settings, "careful", {}, ADMIN, assume_yes=True)

    with clock.shifted_to(clock.now() + timedelta(seconds=901)):
        view = engine.resume(settings, view.id, ADMIN)

    assert view.status == "failed" and view.reason == "step manager-says-yes timed-out"
    assert view.steps["manager-says-yes"].state == "timed-out"
    assert view.steps["manager-says-yes"].error == "no approval within 900 s"
    assert not (settings.home / "after.txt").exists()


def test_a_late_approval_is_too_late_and_the_step_goes_on_when_it_says_so(settings, db, library):
    _restore_runbook(library, "continue")
    view = engine.start(settings, "careful", {}, ADMIN, assume_yes=True)

    with clock.shifted_to(clock.now() + timedelta(seconds=901)):
        view = engine.confirm(settings, view.id, "manager-says-yes", MANAGER)

    assert view.steps["manager-says-yes"].state == "timed-out-continued"
    assert [r["state"] for r in view.steps["manager-says-yes"].history] == ["waiting", "timed-out", "timed-out-continued"]
    assert view.status == "completed" and (settings.home / "after.txt").exists()
