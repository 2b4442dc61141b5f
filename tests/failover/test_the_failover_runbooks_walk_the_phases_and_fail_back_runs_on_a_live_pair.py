"""The pair's runbooks (runbooks/library): each goes diagnose → emergency → fix → verify, looks with
`failover status` and the failover checks, and moves the lease only through the registered
operations; `fail-back` runs through the engine on a live pair (real etcd, real lease holders): after
box-a was demoted and box-b took over, it switches the orders back to box-a with the next epoch and
its verify steps pass."""
from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

from appliance import operations
from runbooks import engine, loader
from tests.failover.pair import TTL, wait_until_writing
from tests.failover.served import pair, settings  # noqa: F401
from tests.servers.etcd import etcd_cluster  # noqa: F401

ADMIN = operations.Actor("ada", "admin")
PAIR_RUNBOOKS = ("failover-to-standby", "fail-back", "standby-rebuild", "witness-lost")
PHASES = ["diagnose", "emergency", "fix", "verify"]


def test_each_runbook_walks_the_phases_and_uses_the_pair_commands():
    library = loader.load_library(loader.LIBRARY)
    for runbook_id in PAIR_RUNBOOKS:
        steps = library[runbook_id].steps
        seen = [s.phase for s in steps if s.phase in PHASES]
        assert [p for i, p in enumerate(seen) if i == 0 or seen[i - 1] != p] == PHASES, runbook_id
        assert any(s.kind == "shell" and "failover status" in s.command for s in steps), runbook_id
        probed = {s.params.get("check") for s in steps if s.kind in ("check", "verify")}
        assert probed and all(str(name).startswith("failover_") for name in probed), runbook_id
    moves = {s.operation for r in PAIR_RUNBOOKS for s in library[r].steps if s.kind == "action"}
    assert moves == {"failover.promote", "failover.demote"}


@pytest.mark.slow
def test_fail_back_hands_the_orders_back_to_the_intended_primary(db, settings, pair, monkeypatch):  # noqa: F811
    a, b = pair
    monkeypatch.setenv("PATH", f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}")
    first = a.permit().epoch
    operations.execute(settings, "failover.demote", {}, actor=ADMIN, show_progress=False)
    assert wait_until_writing(b, timeout=3 * TTL).epoch == first + 1

    view = engine.start(settings, "fail-back", {}, ADMIN, assume_yes=True)

    assert view.status == "completed", {k: (v.state, v.error, v.output[-300:]) for k, v in view.steps.items()}
    assert a.writes() and not b.writes() and a.permit().epoch == first + 2
    assert {view.steps[s].state for s in ("primary-again", "not-fenced")} == {"ok"}
    assert "box-a (primary)" in view.steps["other-box-stands-by"].output
