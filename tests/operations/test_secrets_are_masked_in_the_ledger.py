"""Parameters marked secret never reach the ledger, the CLI's list of runs or a background run's
stored parameters; the operation itself gets the real value."""
from __future__ import annotations

import json

from appliance import operations
from appliance.models import OperationRun

from . import helpers  # noqa: F401 - registers the test operations


def test_a_secret_parameter_is_masked_and_the_others_kept(settings, db):
    result = operations.execute(settings, "tests.secret", {"password": "hunter2", "note": "hello"},
                                actor=operations.Actor("ana", "staff"), source="runbook")

    run = OperationRun.get()
    assert result == "hello"
    assert json.loads(run.params_json) == {"password": operations.MASK, "note": "hello"}
    assert "hunter2" not in run.params_json + (run.summary or "")


def test_a_restore_into_a_postgresql_url_does_not_record_its_password():
    restore = operations.get("backup.restore")
    masked = restore.masked({"output": "postgresql://shop:s3cret@127.0.0.1/shop", "force": True})
    assert masked == {"output": operations.MASK, "force": True}
