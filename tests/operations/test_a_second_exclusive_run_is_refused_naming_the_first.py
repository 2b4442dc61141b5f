"""Operations of one exclusive group run one at a time per box: a second is refused at once with a
message naming the run that holds the box, and may start as soon as that one ends."""
from __future__ import annotations

import pytest

from appliance import operations
from appliance.errors import Conflict
from appliance.models import OperationRun

from . import helpers


def test_a_second_run_is_refused_while_the_first_runs(settings, db):
    with helpers.a_run_holding_the_box(settings, "ana"):
        holder = OperationRun.get(OperationRun.operation == "tests.wait")

        with pytest.raises(Conflict) as refused:
            operations.execute(settings, "tests.wait", {"seconds": 0}, actor=operations.Actor("ben", "admin"))

        assert refused.value.message.startswith(
            f"tests.wait cannot start: tests.wait (run #{holder.id}, started ")
        assert "by ana) is running on this box; try again when it ends." in refused.value.message
        assert OperationRun.select().count() == 1  # the refused run is not recorded as a run

    helpers.release.clear()
    operations.execute(settings, "tests.wait", {"seconds": 0}, actor=operations.Actor("ben", "admin"))
    assert [r.outcome for r in OperationRun.select().order_by(OperationRun.id)] == ["ok", "ok"]


def test_a_backup_and_a_prune_share_one_lock(settings, db):
    assert operations.get("backup.run").exclusive == operations.get("backup.prune").exclusive is not None
    assert operations.get("backup.verify").exclusive is None


def test_a_background_start_is_refused_while_the_group_is_busy(settings, db):
    with helpers.a_run_holding_the_box(settings, "ana"):
        with pytest.raises(Conflict, match=r"is running on this box"):
            operations.start_in_background(settings, "tests.wait", actor=operations.Actor("ben", "admin"),
                                           source="web")
        assert OperationRun.select().where(OperationRun.outcome == "queued").count() == 0
