"""Issue 12's scenarios on one pair in network namespaces (tests/failover/rig.py: real etcd on three
machines, keepalived moving the shop address, `appliance serve` on both boxes, the replica on the
witness's SFTP server), with two tills placing orders through the shop address the whole time. One
rig for the whole story: building one costs 10-25 s.

3. The link between the two boxes down (the witness sees both): no failover, box-a keeps selling.
   The witness cut off: no failover either.
2. box-a cut off from box-b and the witness while the tills still reach it: it stops acknowledging
   (its write permit runs out) before box-b takes the lease; box-b sells with epoch 2.
6. The network heals: box-a stays fenced and never takes the address; `failover rejoin` lists the
   orders it acknowledged that box-b never received (what it could not ship once cut off); it then
   follows box-b.
5. A planned switchover back to box-a: no acknowledged order lost; orders refused for ≤ 5 s.
1. Every process of box-a SIGKILLed: orders acknowledged again through the shop address within
   10 s, by box-b with epoch 4; box-b lacks only orders acknowledged in the last second before the
   kill.
7. No two epochs ever acknowledged orders at overlapping times; box-b, the survivor, has every
   order it or box-a acknowledged except those, once each; its stock equals its ledger, nothing is
   oversold, its audit chain is intact.
"""
from __future__ import annotations

import json
import time

import pytest

from tests.failover import rig_history as history
from tests.failover.pair import TTL
from tests.failover.rig import holder_state, rig, standby_caught_up  # noqa: F401
from tests.servers.waiting import wait_for

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("netns-rig")]

SKUS = ["TEA", "COFFEE", "SCARCE"]  # SCARCE runs out: refusals the oversell check covers
QUIET = TTL + 1.5  # longer than a lease can outlive its last renewal: a failover would have happened
# The figures. The bench measures 1.2-2.9 s without an accepted order in a switchover and
# losses reaching 0.3 s back after a kill, on the shared 2-core machine (docs/failover.md): the
# margins are for a CI machine busier still.
SWITCHOVER_REFUSALS = 5.0
LOSS_WINDOW = 1.0


def test_a_pair_survives_splits_a_rejoin_a_switchover_and_a_dead_primary_never_selling_on_two_boxes(rig, tmp_path):  # noqa: F811
    with rig.logs_on_failure():
        the_story(rig, tmp_path)


def the_story(rig, tmp_path):  # noqa: F811
    a, b, witness = rig.a, rig.b, rig.witness
    sold = lambda: history.load(tmp_path)  # noqa: E731 - the tills' answers so far
    wait_for(lambda: standby_caught_up(b), timeout=30, what=f"box-b's copy to catch up ({b.log('follow')})")
    rig.start_tills(tmp_path / "history", SKUS)
    wait_for(lambda: len(history.acks(sold())) >= 20, timeout=20, what="the tills to sell")

    # 3. a link down between the boxes, then the witness down: nothing moves
    for cut, heal in ((lambda: rig.cut_between(a, b), rig.heal),
                      (lambda: rig.cut_off(witness), lambda: rig.reconnect(witness))):
        started = time.time()
        cut()
        while time.time() < started + QUIET:  # box-b never writes nor takes the address meanwhile
            assert not b.writes() and not b.holds_shop_address()
            time.sleep(0.2)
        assert a.permit().epoch == 1  # the lease never moved
        # box-a writes and keeps the address; on a CI machine loaded past its renewals it may fence
        # itself for a moment (CI once saw it writing again with epoch 1 but without the address yet)
        wait_for(lambda: a.writes() and a.holds_shop_address(), timeout=5,
                 what="box-a writing with the shop address")  # the logs come with a failure (the_story)
        # an order acknowledged after box-a's lease would have run out is still box-a's (epoch 1); on a
        # loaded CI machine the first one may come after QUIET (CI once saw none within it)
        after = wait_for(lambda: history.first_ack_after(sold(), started + TTL), timeout=15, step=0.1,
                         what=f"an order acknowledged once the lease would have expired ({a.log('holder')})")
        assert after["epoch"] == 1 and a.writes() and not b.writes()
        heal()
    # The NAS (on the witness) was away for QUIET seconds or more, box-a's replica with it: box-b would
    # rightly refuse to take over from a primary whose replica was that far behind at its last renewal
    # (max_lag_on_failover_seconds; a loaded CI machine once stretched the cut and the reconnection past
    # it). Scenario 2 is about a pair in good health, so the replica ships again first.
    wait_for(lambda: standby_caught_up(b), timeout=30, what=f"box-b's copy to catch up again ({b.log('follow')})")

    # 2. box-a cut off from box-b and the witness (and the NAS on it); the tills still reach it
    rig.cut_between(a, b)
    rig.cut_between(a, witness)
    partitioned = time.time()
    wait_for(lambda: history.first_ack_after(sold(), partitioned, min_epoch=2), timeout=30, step=0.1,
             what="an order acknowledged by box-b")
    last, b_took = a.permit(), holder_state(b)["taken_at"]  # box-a's last grant, run out (it cannot renew)
    assert last.granted and not a.writes() and last.until < b_took, (last, b_took)
    assert max(e["answered"] for e in history.acks(sold(), epoch=1)) \
        < min(e["answered"] for e in history.acks(sold(), epoch=2))

    # 6. the network heals: box-a stays fenced without the address; rejoin lists what it could not ship
    rig.heal()
    wait_for(lambda: "box-b holds the lease" in (a.permit().reason or ""), timeout=20,
             what=f"box-a to see box-b's lease ({a.log('holder')})")
    time.sleep(2)  # keepalived's rise 1 would have brought the address up by now
    assert not a.writes() and not a.holds_shop_address() and b.holds_shop_address()
    unshipped = history.lost(history.acks(sold(), epoch=1), b.orders())
    rejoined = a.appliance("failover", "rejoin", "--json")
    assert rejoined.returncode == 0, rejoined.stderr
    quarantine = json.loads(rejoined.stdout)["orders"]
    assert {o["number"] for o in quarantine} == {e["number"] for e in unshipped}
    assert all(o["epoch"] == 1 and o["lines"] for o in quarantine)
    a.start_follower()
    wait_for(lambda: standby_caught_up(a), timeout=60, what=f"box-a's copy of box-b's database ({a.log('follow')})")

    # 5. a planned switchover back to box-a
    switching = time.time()
    promoted = a.appliance("failover", "promote", "--planned")
    assert promoted.returncode == 0, promoted.stderr
    wait_for(lambda: history.first_ack_after(sold(), switching, min_epoch=3), timeout=30, step=0.1,
             what="an order acknowledged by box-a again")
    first_on_a = history.first_ack_after(sold(), switching, min_epoch=3)
    refused_for = history.longest_gap(sold(), switching, first_on_a["answered"])
    assert refused_for <= SWITCHOVER_REFUSALS, f"orders refused for {refused_for:.1f} s during the switchover"
    assert history.lost(history.acks(sold(), epoch=2), a.orders()) == []

    # 1. box-a loses power; box-b, following it again, takes over
    b.start_follower()
    wait_for(lambda: standby_caught_up(b), timeout=60, what=f"box-b's copy of box-a's database ({b.log('follow')})")
    killed = time.time()
    a.kill_everything()
    wait_for(lambda: history.first_ack_after(sold(), killed, min_epoch=4), timeout=30, step=0.1,
             what="an order acknowledged by box-b")
    taken = history.first_ack_after(sold(), killed, min_epoch=4)
    assert taken["answered"] - killed <= 10, f"orders taken again {taken['answered'] - killed:.1f} s after the kill"
    assert b.holds_shop_address() and b.writes()
    time.sleep(1)
    rig.stop_tills()

    # 7. the survivor against the history
    done, survivor = sold(), b.orders()
    assert history.split_brain(done) == []
    lost = history.lost(history.acks(done, epoch=3), survivor)
    assert all(e["answered"] >= killed - LOSS_WINDOW for e in lost), [killed - e["answered"] for e in lost]
    assert history.lost(history.acks(done, epoch=2) + history.acks(done, epoch=4), survivor) == []
    assert history.duplicated(survivor) == []
    assert history.survivor_problems(b.home) == []
    assert any(e["status"] == 409 for e in done), "SCARCE ran out: orders were refused for stock"
