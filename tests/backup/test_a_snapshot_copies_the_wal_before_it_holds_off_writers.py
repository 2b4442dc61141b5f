"""A SQLite snapshot holds the box's writers off for a moment (to begin right after a complete
checkpoint); the bulk of the WAL is copied into the database before that, while orders go on, so
that the moment is short: a minute of orders makes a WAL whose checkpoint took 10-40 ms, and every
order waited for it (issue 17). Observed in the WAL index (the -shm file): when the writers are held
off, no frame written before the snapshot began is left to copy."""
from __future__ import annotations

import struct
from contextlib import contextmanager

from appliance import orders
from appliance.db import database
from backup import snapshot


def frames_left_to_copy(db_path: str) -> int:
    """mxFrame - nBackfill of SQLite's WAL index header (the first 136 bytes of the -shm file)."""
    with open(db_path + "-shm", "rb") as f:
        header = f.read(136)
    max_frame = struct.unpack_from("=I", header, 16)[0]
    backfilled = struct.unpack_from("=I", header, 96)[0]
    return max_frame - backfilled


def test_the_wal_is_copied_before_the_writers_are_held_off(shop, tmp_path, monkeypatch):
    for n in range(60):
        orders.create_order(shop, channel="store", actor="till", lines=[orders.LineRequest("SKU-1", 1)])
    path = database.obj.database
    assert frames_left_to_copy(path) > 50

    left_when_held: list[int] = []
    held_off = snapshot.writers_held_off

    @contextmanager
    def observed():
        with held_off():
            left_when_held.append(frames_left_to_copy(path))
            yield

    monkeypatch.setattr(snapshot, "writers_held_off", observed)
    with snapshot.taken(tmp_path) as taken:
        assert taken.how == "live file"
    assert left_when_held == [0]
