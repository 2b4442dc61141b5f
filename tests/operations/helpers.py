"""Operations that exist only in these tests: one that waits until told, one that fails."""
from __future__ import annotations

import threading
from contextlib import contextmanager

from appliance import operations
from appliance.db import database
from appliance.operations import Operation, Outcome, Param, register

release = threading.Event()
started = threading.Event()


def _wait(ctx, seconds: float) -> str:
    started.set()
    release.wait(seconds)
    return "waited"


WAIT = register(Operation("tests.wait", "Wait until released", "admin", _wait, exclusive="tests",
                          params=(Param("seconds", float, default=30.0),),
                          record=lambda result: Outcome("ok", result)))
SECRET = register(Operation("tests.secret", "Take a secret", "staff", lambda ctx, password, note: note,
                            params=(Param("password", secret=True, required=True), Param("note")),
                            record=lambda note: Outcome("ok", f"note {note}")))


@contextmanager
def a_run_holding_the_box(settings, who: str = "ana"):
    """A `tests.wait` run in another thread, holding the `tests` lock until the block ends."""
    release.clear()
    started.clear()

    def run() -> None:
        with database.connection_context():
            operations.execute(settings, "tests.wait", actor=operations.Actor(who, "admin"))

    thread = threading.Thread(target=run)
    thread.start()
    try:
        assert started.wait(10), "the first run did not begin"
        yield
    finally:
        release.set()
        thread.join(10)
