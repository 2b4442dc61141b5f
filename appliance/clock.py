"""The box's wall clock: the one place that reads today's date and time.

Code that needs "now" calls `now()` (aware UTC) or `utcnow()` (naive UTC, as stored), or takes the
time as a parameter. Tests and drills move the clock with `shifted_to(instant)`: the clock then starts
at that instant and keeps ticking, so timeouts and durations still behave. Elapsed time (timeouts,
lag, durations) is measured with `time.monotonic()`, which nothing moves.
"""
from __future__ import annotations

from contextlib import contextmanager
from datetime import datetime, timedelta, timezone
from typing import Iterator

_offset = timedelta(0)


def now() -> datetime:
    """The current time, aware, in UTC."""
    return datetime.now(timezone.utc) + _offset


def utcnow() -> datetime:
    """Naive UTC: stored the same way on SQLite and PostgreSQL."""
    return now().replace(tzinfo=None)


@contextmanager
def shifted_to(instant: datetime) -> Iterator[datetime]:
    """Moves the clock so that it reads `instant` (naive means UTC) now, then ticks on from there."""
    global _offset
    if instant.tzinfo is None:
        instant = instant.replace(tzinfo=timezone.utc)
    previous = _offset
    _offset = instant - datetime.now(timezone.utc)
    try:
        yield instant
    finally:
        _offset = previous
