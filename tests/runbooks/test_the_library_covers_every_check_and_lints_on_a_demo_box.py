"""The runbook library itself (runbooks/library/*.yaml): every file loads, every runbook a monitors
check names exists, it lints clean on a box like a new one (one target, `local`), and each runbook
proves its fix with a verify step; the recovery runbooks walk the phases a shop lives through."""
from __future__ import annotations

import pytest

from monitors.checks import catalog
from runbooks import loader

RECOVERY = ("box-lost", "database-corrupt", "disk-failed", "ransomware")
RECOVERY_PHASES = {"diagnose", "emergency", "verify", "recover"}


@pytest.fixture
def shipped():
    """The real library (tests/runbooks/conftest.py's `library` is a folder of the tests' own)."""
    return loader.load_library(loader.LIBRARY)


def test_every_file_of_the_library_loads(shipped):
    files = sorted(path.stem for path in loader.LIBRARY.glob("*.yaml"))
    assert files and sorted(shipped) == files


def test_every_runbook_a_check_names_exists(shipped):
    named = {check.runbook for check in catalog().values()}
    assert named - set(shipped) == set()


def test_each_runbook_names_the_checks_that_lead_to_it(shipped):
    for runbook in shipped.values():
        leading = {check.name for check in catalog().values() if check.runbook == runbook.id}
        assert set(runbook.when.alerts) == leading, runbook.id


def test_the_recovery_runbooks_exist(shipped):
    assert set(RECOVERY) <= set(shipped)


def test_the_library_lints_clean_on_a_new_box(settings):
    assert [t.name for t in settings.backup.targets] == ["local"]
    assert loader.lint(settings) == []


def test_each_runbook_has_a_verify_step(shipped):
    for runbook in shipped.values():
        assert any(step.kind == "verify" for step in runbook.steps), runbook.id


def test_the_recovery_runbooks_go_through_diagnose_emergency_verify_and_recover(shipped):
    for runbook_id in RECOVERY:
        phases = {step.phase for step in shipped[runbook_id].steps}
        assert RECOVERY_PHASES <= phases, (runbook_id, sorted(phases))


def test_the_till_keeps_selling_on_paper_during_a_recovery(shipped):
    for runbook_id in RECOVERY:
        emergency = [s for s in shipped[runbook_id].steps if s.phase == "emergency" and s.kind == "manual"]
        assert any("take orders on paper: date, items, quantities, customer" in s.instruction.lower()
                   for s in emergency), runbook_id


def test_a_restore_over_the_live_database_is_forced_only_after_a_person_stopped_the_service(shipped):
    restores = 0
    for runbook in shipped.values():
        for number, step in enumerate(runbook.steps):
            if step.operation != "backup.restore" or step.params.get("output"):
                continue
            restores += 1
            assert step.params.get("force") is True and step.safe_to_repeat is False, runbook.id
            just_before = runbook.steps[max(0, number - 2):number]
            assert any(s.kind in ("manual", "approve") and "systemctl" in (s.instruction or "")
                       for s in just_before), runbook.id
            assert any(s.kind == "approve" for s in runbook.steps[:number]) or runbook.id == "box-lost", runbook.id
    assert restores >= 4


def test_the_disk_failed_runbook_restores_the_replica_to_its_last_second(shipped):
    restore = next(s for s in shipped["disk-failed"].steps if s.operation == "backup.restore")
    assert restore.params["from_replica"] is True


def test_the_ransomware_runbook_restores_as_of_before_the_attack_and_rotates_every_secret(shipped):
    runbook = shipped["ransomware"]
    params = {p.name: p for p in runbook.params}
    assert params["as_of"].required and params["target"].required
    restore = next(s for s in runbook.steps if s.operation == "backup.restore")
    assert restore.params["as_of"] == "${as_of}" and restore.params["target"] == "${target}"
    rotations = [s.id for s in runbook.steps if s.kind == "manual" and s.id.startswith("rotate-")]
    assert len(rotations) >= 3


def test_approvals_name_a_role_and_what_happens_on_timeout(shipped):
    for runbook in shipped.values():
        for step in runbook.all_steps():
            if step.kind == "approve":
                assert step.role in ("manager", "admin") and step.on_timeout, (runbook.id, step.id)


def test_no_runbook_holds_a_secret(shipped):
    for runbook in shipped.values():
        assert not any(p.secret or p.default and len(p.default) > 30 for p in runbook.params), runbook.id
        text = (loader.LIBRARY / f"{runbook.id}.yaml").read_text()
        for marker in ("BEGIN OPENSSH PRIVATE KEY", "PRIVATE KEY-----", "password =", "secret_access_key ="):
            assert marker not in text, (runbook.id, marker)


def test_a_runbook_that_restores_the_live_database_says_when_the_shop_serves_again(shipped):
    """The RTO ends at the step after which orders are taken again (a drill serves its sandbox there)."""
    for runbook in shipped.values():
        steps = runbook.steps
        restores = [i for i, s in enumerate(steps) if s.operation == "backup.restore" and s.params.get("force")]
        if restores:
            serving = [i for i, s in enumerate(steps) if s.serves]
            assert len(serving) == 1 and serving[0] > restores[0], runbook.id
