"""A box upgraded from a release that kept `backupjobrun` keeps its history: every row becomes a run
of the matching operation in the ledger, and the old table goes; running the step again changes
nothing."""
from __future__ import annotations

from appliance.db import database
from appliance.models import OperationRun
from backup.models import move_job_runs_to_the_operation_ledger


def _old_history() -> None:
    database.execute_sql("CREATE TABLE backupjobrun (id INTEGER PRIMARY KEY, kind VARCHAR(16), started_at TIMESTAMP, "
                         "finished_at TIMESTAMP, duration_seconds REAL, bytes BIGINT, outcome VARCHAR(16), detail TEXT)")
    for kind, outcome, size in (("run", "ok", 1000), ("verify", "failed", 0), ("replica-verify", "ok", 0),
                                ("prune", "partial", 0), ("run", "running", 0)):
        database.execute_sql("INSERT INTO backupjobrun (kind, started_at, finished_at, duration_seconds, bytes, outcome, "
                             "detail) VALUES (?, '2026-11-01 03:00:00', '2026-11-01 03:00:05', 5.0, ?, ?, 'detail')",
                             (kind, size, outcome))


def test_old_backup_job_runs_become_operation_runs(db):
    _old_history()

    move_job_runs_to_the_operation_ledger()

    runs = [(r.operation, r.outcome, r.bytes) for r in OperationRun.select().order_by(OperationRun.id)]
    assert runs == [("backup.run", "ok", 1000), ("backup.verify", "failed", 0), ("replication.verify", "ok", 0),
                    ("backup.prune", "partial", 0), ("backup.run", "interrupted", 0)]
    assert "backupjobrun" not in database.get_tables()

    move_job_runs_to_the_operation_ledger()
    assert OperationRun.select().count() == 5
