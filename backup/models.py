"""The backup catalog: what was backed up, where each copy is, how each was verified, every job run.

The targets themselves stay the source of truth for a restore (a new box has no catalog); the
catalog drives status, retries, sampling and retention.
"""
from __future__ import annotations

import json

from peewee import (BigIntegerField, BooleanField, CharField, DateTimeField, FloatField,
                    ForeignKeyField, IntegerField, TextField)

from appliance.db import database
from appliance.models import BaseModel, OperationRun, utcnow

COPY_STATES = ("uploading", "complete", "failed", "deleted")
VERIFY_STATES = ("unverified", "ok", "failed")


class BackupSet(BaseModel):
    backup_id = CharField(max_length=40, unique=True)
    created_at = DateTimeField(index=True)
    engine = CharField(max_length=16)
    snapshot_bytes = BigIntegerField()
    payload_bytes = BigIntegerField()
    payload_sha256 = CharField(max_length=64)
    counts_json = TextField()

    @property
    def counts(self) -> dict:
        return json.loads(self.counts_json)


class BackupCopy(BaseModel):
    backup = ForeignKeyField(BackupSet, backref="copies", on_delete="CASCADE")
    target = CharField(max_length=64, index=True)
    state = CharField(max_length=16, default="uploading")
    bytes = BigIntegerField(default=0)
    attempts = IntegerField(default=0)
    next_attempt_at = DateTimeField(null=True)
    last_error = TextField(null=True)
    stored_at = DateTimeField(null=True)
    locked_until = DateTimeField(null=True)
    verify_state = CharField(max_length=16, default="unverified")
    verified_at = DateTimeField(null=True)
    verify_error = TextField(null=True)

    class Meta:
        indexes = ((("backup", "target"), True),)


class VerifyResult(BaseModel):
    copy = ForeignKeyField(BackupCopy, backref="verifications", on_delete="CASCADE")
    at = DateTimeField(default=utcnow, index=True)
    ok = BooleanField()
    detail = TextField(null=True)
    duration_seconds = FloatField()


# Job runs were kept in `backupjobrun` until the operation ledger (appliance/operations.py) took
# them over; the kinds map to operations.
JOB_KIND_OPERATIONS = {"run": "backup.run", "verify": "backup.verify", "prune": "backup.prune",
                       "restore": "backup.restore", "replica-verify": "replication.verify"}


def move_job_runs_to_the_operation_ledger() -> None:
    """Copies every row of the old backup job history into the ledger, then drops the old table
    (one transaction: run again after a crash, it finds the table and starts over)."""
    if "backupjobrun" not in database.get_tables():
        return
    cursor = database.execute_sql(
        "SELECT kind, started_at, finished_at, duration_seconds, bytes, outcome, detail FROM backupjobrun ORDER BY id")
    rows = [{"operation": JOB_KIND_OPERATIONS.get(kind, f"backup.{kind}"), "actor": "unknown (before the ledger)",
             "actor_role": "admin", "source": "backup-job-history", "started_at": started, "finished_at": finished,
             "duration_seconds": duration, "bytes": size or 0,
             "outcome": "interrupted" if outcome == "running" else outcome, "summary": detail}
            for kind, started, finished, duration, size, outcome, detail in cursor.fetchall()]
    for start in range(0, len(rows), 500):
        OperationRun.insert_many(rows[start:start + 500]).execute()
    database.execute_sql("DROP TABLE backupjobrun")


MODELS = [BackupSet, BackupCopy, VerifyResult]
MIGRATIONS = [move_job_runs_to_the_operation_ledger]
