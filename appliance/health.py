"""Can this box take orders right now? Used by /readyz and the monitors."""
from __future__ import annotations

import peewee

from . import fencing
from .db import database, is_postgres
from .models import KeyValue

FENCED_KEY = "fenced"


def accepts_writes() -> tuple[bool, str]:
    """True only when the database answers and takes writes, and this box is not fenced."""
    try:
        if is_postgres():
            (in_recovery,) = database.execute_sql("SELECT pg_is_in_recovery()").fetchone()
            if in_recovery:
                return False, "database is a read-only standby"
        else:
            # Takes and releases the write lock: proves the file is writable and not locked for long.
            with database.atomic():
                database.execute_sql("UPDATE key_value SET value = value WHERE key = 'schema_version'")
        refusal = fencing.refusal()
        if refusal:
            return False, f"this box is fenced: {refusal}"
        fenced = KeyValue.get_or_none(KeyValue.key == FENCED_KEY)
        if fenced and fenced.value not in ("", "0", "false"):
            return False, f"box is fenced: {fenced.value}"
        return True, "ok"
    except peewee.PeeweeException as e:
        return False, f"database unavailable: {' '.join(str(e).split())}"
