"""Secrets are masked by value before anything is journaled: a secret parameter, and the secrets the
box's config points to (the backup key), wherever they appear — in parameters, in a shell step's
output, in an error."""
from __future__ import annotations

from appliance import operations
from runbooks import engine
from runbooks.journal import MASK, Journal

from .helpers import step, write


def test_a_secret_parameter_and_the_backup_key_are_masked(settings, db, library):
    write(library, "leaky",
          step("echo-both", "shell", command="echo pw=${password}; cat keys/backup.key"),
          step("fail-loudly", "shell", command="echo ${password} >&2; exit 3", on_failure="continue"),
          params="params:\n  - {name: password, secret: true, required: true}")
    key = (settings.home / "keys" / "backup.key").read_text().strip()

    view = engine.start(settings, "leaky", {"password": "hunter2-secret"}, operations.Actor("ada", "admin"))

    text = Journal(settings.home, view.id).path.read_text()
    assert "hunter2-secret" not in text and key not in text
    assert f"pw={MASK}" in view.steps["echo-both"].output and MASK in view.steps["echo-both"].output
    assert view.params == {"password": MASK}
    assert view.status == "completed" and view.steps["fail-loudly"].state == "failed-continued"
