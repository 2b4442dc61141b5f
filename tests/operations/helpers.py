"""Operations that exist only in these tests: one that waits until told, one that fails."""
from __future__ import annotations

import threading

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
