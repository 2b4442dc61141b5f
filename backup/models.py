"""The backup catalog: what was backed up, where each copy is, how each was verified, every job run.

The targets themselves stay the source of truth for a restore (a new box has no catalog); the
catalog drives status, retries, sampling and retention.
"""
from __future__ import annotations

import json

from peewee import (BigIntegerField, BooleanField, CharField, DateTimeField, FloatField,
                    ForeignKeyField, IntegerField, TextField)

from appliance.models import BaseModel, utcnow

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


class BackupJobRun(BaseModel):
    kind = CharField(max_length=16, index=True)  # run | verify | prune | restore
    started_at = DateTimeField(default=utcnow, index=True)
    finished_at = DateTimeField(null=True)
    duration_seconds = FloatField(null=True)
    bytes = BigIntegerField(default=0)
    outcome = CharField(max_length=16, default="running")  # running | ok | partial | failed
    detail = TextField(null=True)


MODELS = [BackupSet, BackupCopy, VerifyResult, BackupJobRun]
