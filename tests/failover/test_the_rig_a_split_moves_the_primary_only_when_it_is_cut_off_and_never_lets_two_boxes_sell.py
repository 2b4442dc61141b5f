"""Issue 12's scenarios 3, 2 and 7 on one pair in network namespaces (tests/failover/rig.py), two
tills placing orders through the shop address the whole time:

3. The link between the two boxes down (the witness sees both): no failover, box-a keeps selling.
   The witness cut off: no failover either.
2. box-a cut off from box-b and the witness while the tills still reach it: it stops acknowledging
   (its write permit runs out) before box-b takes the lease; box-b then sells with a new epoch; no
   order is acknowledged by two boxes in overlapping epochs.
7. box-b has every order it acknowledged, once; its stock equals its ledger, nothing is oversold,
   its audit chain is intact.
"""
from __future__ import annotations

import time

import pytest

from tests.failover import rig_history as history
from tests.failover.pair import TTL
from tests.failover.rig import holder_state, rig  # noqa: F401
from tests.servers.waiting import wait_for

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("netns-rig")]

SKUS = ["TEA", "COFFEE", "SCARCE"]
QUIET = TTL + 1.5  # longer than a lease could outlive its last renewal: a failover would have happened


def test_only_a_primary_cut_off_from_the_quorum_is_replaced_and_it_stops_selling_first(rig, tmp_path):  # noqa: F811
    a, b, witness = rig.a, rig.b, rig.witness
    rig.start_tills(tmp_path / "history", SKUS)
    wait_for(lambda: len(history.acks(history.load(tmp_path))) >= 20, timeout=20, what="the tills to sell")

    # 3. a link down between the boxes, then the witness down: nothing moves
    for cut, heal in ((lambda: rig.cut_between(a, b), rig.heal),
                      (lambda: rig.cut_off(witness), lambda: rig.reconnect(witness))):
        started = time.time()
        cut()
        time.sleep(QUIET)
        assert a.writes() and a.permit().epoch == 1 and not b.writes() and a.holds_shop_address()
        assert history.first_ack_after(history.load(tmp_path), started + TTL, min_epoch=1)["epoch"] == 1
        heal()

    # 2. box-a cut off from box-b and the witness; the tills still reach it
    partitioned = time.time()
    rig.cut_between(a, b)
    rig.cut_between(a, witness)
    wait_for(lambda: history.first_ack_after(history.load(tmp_path), partitioned, min_epoch=2), timeout=30,
             step=0.1, what="an order acknowledged by box-b")
    fenced_until, b_took = a.permit().until, holder_state(b)["taken_at"]
    assert not a.writes() and fenced_until < b_took, (fenced_until, b_took)
    time.sleep(1)
    rig.stop_tills()

    # 7. box-b against the history
    done = history.load(tmp_path)
    assert history.split_brain(done) == []
    last_by_a = max(e["answered"] for e in history.acks(done, epoch=1))
    first_by_b = min(e["answered"] for e in history.acks(done, epoch=2))
    assert last_by_a < first_by_b
    survivor = b.orders()
    assert history.lost(history.acks(done, epoch=2), survivor) == []
    assert history.duplicated(survivor) == []
    assert history.survivor_problems(b.home) == []
