"""The runbook journal's copy in the database.

The journal file under the home is the record while a run happens (it outlives the restore a
runbook does); this copy is made when a run ends, so the history travels with the database into
every backup — a lost box's runbook history comes back with its restore — and can be queried.
"""
from __future__ import annotations

import json
from contextlib import nullcontext

from peewee import BooleanField, CharField, DateTimeField, FloatField, IntegerField, TextField

from appliance.db import database
from appliance.models import BaseModel

from .journal import RunView


class RunbookRun(BaseModel):
    run_id = CharField(max_length=40, unique=True)
    runbook = CharField(max_length=64, index=True)
    actor = CharField(max_length=100)
    status = CharField(max_length=16)
    dry_run = BooleanField(default=False)
    drill = BooleanField(default=False)
    started_at = DateTimeField(index=True)
    ended_at = DateTimeField(null=True)
    elapsed_seconds = FloatField()
    rto_budget_seconds = IntegerField()
    reason = TextField(null=True)
    steps_json = TextField()  # [{id, state, attempt, actor, started, ended, error}], secrets already masked


MODELS = [RunbookRun]


def mirror(view: RunView) -> bool:
    """Copies an ended run into the database now in place; False when it has no such table yet (a
    database restored from an older release: the next start's migration adds it, and the journal
    file still holds the run)."""
    from datetime import datetime, timezone

    def utc(text):
        return datetime.fromisoformat(text).astimezone(timezone.utc).replace(tzinfo=None) if text else None

    with database.connection_context() if database.is_closed() else nullcontext():
        if not RunbookRun.table_exists():
            return False
        steps = [{"id": s.id, "state": s.state, "attempt": s.attempt, "actor": s.actor, "started": s.started,
                  "ended": s.ended, "error": s.error} for s in view.steps.values()]
        fields = {"runbook": view.runbook, "actor": view.actor, "status": view.status, "dry_run": view.dry_run,
                  "drill": any(e.get("drill") for e in view.events), "started_at": utc(view.started),
                  "ended_at": utc(view.ended), "elapsed_seconds": view.elapsed_seconds(),
                  "rto_budget_seconds": view.rto_budget_seconds, "reason": view.reason,
                  "steps_json": json.dumps(steps)}
        (RunbookRun.insert(run_id=view.id, **fields)
         .on_conflict(conflict_target=[RunbookRun.run_id], update=fields).execute())
        return True
