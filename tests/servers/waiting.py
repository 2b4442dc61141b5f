"""Polling until something is true: the one way tests wait for servers, processes and replicas."""
from __future__ import annotations

import time


def wait_for(predicate, timeout: float = 15, what: str = "condition", step: float = 0.05):
    """predicate()'s first truthy value, polled every `step` s; AssertionError after `timeout` s
    naming `what` and the last value seen (what a failing test most needs to show)."""
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        last = predicate()
        if last:
            return last
        time.sleep(step)
    raise AssertionError(f"timed out after {timeout} s waiting for {what} (last: {last!r})")
