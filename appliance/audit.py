"""Audit events in a hash chain: hash = sha256(prev_hash + canonical event).

Every mutation records exactly one event, last in its transaction: the chain head row is locked
then, so concurrent writers on PostgreSQL append one after another and the chain stays linear.
"""
from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from typing import Any

from . import sql
from .db import is_postgres
from .models import AuditEvent, AuditHead, utcnow
from .schema import GENESIS_HASH


def _json(value: Any) -> str | None:
    if value is None:
        return None
    return json.dumps(value, sort_keys=True, separators=(",", ":"), default=str)


def _canonical(at, actor: str, action: str, entity: str, entity_id: str | None,
               before: str | None, after: str | None) -> str:
    fields = [at.isoformat(timespec="microseconds"), actor, action, entity, entity_id or "", before or "", after or ""]
    return json.dumps(fields, separators=(",", ":"))


def _hash(prev_hash: str, event: AuditEvent) -> str:
    return _chain(prev_hash, _canonical(event.at, event.actor, event.action, event.entity, event.entity_id,
                                        event.before, event.after))


def _chain(prev_hash: str, canonical: str) -> str:
    return hashlib.sha256((prev_hash + canonical).encode()).hexdigest()


_HEAD = "SELECT last_hash FROM audit_head WHERE id = 1"
_APPEND = ('INSERT INTO audit_event (at, actor, action, entity, entity_id, "before", "after", prev_hash, hash) '
           "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id")
_MOVE_HEAD = "UPDATE audit_head SET last_id = ?, last_hash = ? WHERE id = 1"


def record(actor: str, action: str, entity: str, entity_id: Any = None,
           before: Any = None, after: Any = None) -> int:
    """Appends one event and returns its id; call inside the mutation's transaction, after its writes.

    Plain SQL (appliance.sql): every mutation, order creation included, runs this.
    """
    (prev_hash,) = sql.one(_HEAD + (" FOR UPDATE" if is_postgres() else ""))
    at = utcnow()
    entity_id = None if entity_id is None else str(entity_id)
    before_json, after_json = _json(before), _json(after)
    digest = _chain(prev_hash, _canonical(at, actor, action, entity, entity_id, before_json, after_json))
    (event_id,) = sql.one(_APPEND, (at, actor, action, entity, entity_id, before_json, after_json, prev_hash, digest))
    sql.run(_MOVE_HEAD, (event_id, digest))
    return event_id


@dataclass
class ChainReport:
    ok: bool
    checked: int
    first_bad_id: int | None = None
    reason: str = ""


def verify() -> ChainReport:
    """Walks the chain; names the first event that was edited, or that follows a deleted one."""
    prev_hash, prev_id, checked = GENESIS_HASH, 0, 0
    query = AuditEvent.select().order_by(AuditEvent.id)
    for event in query.iterator():
        if event.prev_hash != prev_hash:
            return ChainReport(False, checked, event.id,
                               f"event {event.id} does not follow event {prev_id or 'genesis'}: "
                               f"an event between them was deleted, or event {prev_id} was edited")
        if _hash(prev_hash, event) != event.hash:
            return ChainReport(False, checked, event.id, f"event {event.id} was edited")
        prev_hash, prev_id = event.hash, event.id
        checked += 1
    head = AuditHead.get_or_none(AuditHead.id == 1)
    if head is None or head.last_hash != prev_hash or head.last_id != prev_id:
        return ChainReport(False, checked, (head.last_id if head else None),
                           f"the chain ends at event {prev_id} but its head says "
                           f"{head.last_id if head else 'nothing'}: the latest events were deleted")
    return ChainReport(True, checked)
