"""A runbook is validated when it is loaded: a missing field, an unknown operation, a probe that
changes things, a bad parameter — each refused with one sentence naming the file, the step and the
field, so the person editing it knows where to look."""
from __future__ import annotations

import pytest

from runbooks.loader import RunbookInvalid, load_file

from .helpers import runbook_text, step, write


def _refusal(path) -> str:
    with pytest.raises(RunbookInvalid) as refused:
        load_file(path)
    return refused.value.message


def test_a_step_without_its_timeout_is_refused(library):
    path = library / "no-timeout.yaml"
    path.write_text(runbook_text("no-timeout", step("first", "shell", command="exit 0"))
                    .replace("    timeout_seconds: 30\n", ""))

    assert _refusal(path).endswith("no-timeout.yaml, step 1 (first), field timeout_seconds: is missing.")


def test_an_unknown_operation_is_refused(library):
    path = write(library, "typo", step("ok", "shell", command="exit 0"),
                 step("restore", "action", operation="backup.restor"))

    assert _refusal(path).endswith("typo.yaml, step 2 (restore), field operation: there is no operation 'backup.restor'.")


def test_a_check_step_must_use_a_read_only_probe(library):
    path = write(library, "sneaky", step("look", "check", operation="backup.run", expect="{outcome: ok}"))

    assert "step 1 (look), field operation: a check step needs a read-only probe" in _refusal(path)


def test_a_parameter_the_operation_does_not_take_is_refused(library):
    path = write(library, "bad-param", step("prune", "action", operation="backup.prune", params="{dryrun: true}"))

    assert "step 1 (prune), field params: backup.prune takes no parameter dryrun" in _refusal(path)


def test_an_approve_step_must_say_what_happens_on_timeout(library):
    path = write(library, "approve", step("ok-to-restore", "approve", instruction="Approve?", role="manager"))

    assert _refusal(path).endswith("step 1 (ok-to-restore), field (the step itself): a approve step needs `on_timeout`.")


def test_a_file_named_unlike_its_id_is_refused(library):
    path = library / "other-name.yaml"
    path.write_text(runbook_text("real-id", step("s", "shell", command="exit 0")))

    assert "id 'real-id' must match the file name (other-name)" in _refusal(path)


def test_a_well_formed_runbook_loads_with_its_parameters_filled_at_run_time(library):
    path = write(library, "fine", step("verify-one", "verify", operation="backup.verify", params="{target: '${target}'}",
                                       expect="{state: ok}"),
                 params="params:\n  - {name: target, required: true}")
    with pytest.raises(RunbookInvalid):  # backup.verify is not a probe: it writes verify results
        load_file(path)
    path = write(library, "fine", step("prune", "action", operation="backup.prune", params="{dry_run: '${dry}'}"),
                 params="params:\n  - {name: dry, default: 'true'}")
    assert load_file(path).steps[0].params == {"dry_run": "${dry}"}
