"""Every operation names the least role that may run it; a lower role is refused before anything
runs or is recorded, whoever asks (web user, runbook, token)."""
from __future__ import annotations

import pytest

from appliance import operations
from appliance.errors import Forbidden
from appliance.models import OperationRun

from . import helpers  # noqa: F401 - registers the test operations


@pytest.mark.parametrize("role", ["staff", "manager"])
def test_a_backup_is_refused_below_admin(settings, db, role):
    with pytest.raises(Forbidden) as refused:
        operations.execute(settings, "backup.run", actor=operations.Actor("ana", role), source="web")

    assert refused.value.message == f"backup.run needs the admin role; ana is {role}."
    assert OperationRun.select().count() == 0


def test_a_role_at_or_above_the_operations_own_may_run_it(settings, db):
    for role in ("staff", "admin"):
        operations.execute(settings, "tests.secret", {"password": "hunter2", "note": role},
                           actor=operations.Actor("ana", role), source="web")

    assert [r.actor_role for r in OperationRun.select().order_by(OperationRun.id)] == ["staff", "admin"]


def test_a_background_start_is_refused_the_same_way(settings, db):
    with pytest.raises(Forbidden):
        operations.start_in_background(settings, "backup.verify", actor=operations.Actor("ana", "manager"),
                                       source="web")
    assert OperationRun.select().count() == 0
