"""Issue 12's scenarios on a PostgreSQL pair under Patroni in network namespaces (tests/failover/pg_rig.py:
real etcd on three machines, Patroni and PostgreSQL on both boxes, `appliance serve` writing through the
multi-host URL, keepalived moving the shop address after Patroni's leader), with two tills placing orders
through the shop address the whole time. One rig for the whole story: building one costs ~35 s.

1. Every process of box-a SIGKILLed: orders acknowledged again through the shop address within
   Patroni's bound (its TTL, 20 s at least, plus its loop and the address's move), 0 lost.
   `failover status` names box-b the primary on a higher epoch (Patroni's timeline) and box-a
   unreachable, and the failover_lease check warns that box-b has no standby left.
6. box-a boots again: Patroni rejoins it as box-b's synchronous standby (pg_rewind where its WAL went
   past box-b's), it never passes keepalived's check nor holds the address meanwhile, and nothing needs
   a quarantine: every acknowledged order is on box-b.
5. A planned switchover back to box-a (`failover promote --planned`): 0 lost, orders refused <= 5 s.
3. The link between the boxes down, the witness seeing both, for longer than Patroni's TTL: no
   failover, and box-a stops waiting for its synchronous standby within seconds (orders go on alone).
2. box-a cut off from box-b and the witness while the tills still reach it: it acknowledges nothing
   more (its COMMITs wait for the standby it cannot reach, and Patroni demotes it when it loses etcd)
   before box-b is promoted on a new timeline; no order acknowledged on both sides (0 lost, no order
   number acknowledged twice). The network heals: box-a does not take the address back, and its etcd
   member's return holds no election (box-b stays primary on its timeline).
7. After every scenario: the survivor's stock equals its ledger, nothing oversold, audit chain intact.

PostgreSQL's timeline is the epoch: the survivor's history is one line of timelines, so an order
acknowledged by a primary whose timeline was abandoned would be missing from it (lost) or share its
number with another order (acknowledged twice); both are checked.
"""
from __future__ import annotations

import json
import time
from datetime import datetime

import pytest

from tests.failover import rig_history as history
from tests.failover.pg_rig import pg_rig  # noqa: F401
from tests.servers.patroni import FAST_TIMINGS
from tests.servers.waiting import wait_for

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("netns-rig")]

SKUS = ["TEA", "COFFEE", "SCARCE"]  # SCARCE runs out: refusals the oversell check covers
# Patroni's leader key lives TTL = 20 s (its minimum) after the dead primary's last renewal; then the
# standby promotes (~1 s), keepalived's check passes (interval 1 s) and VRRP moves the address (0.3 s).
# Measured 22 s on the 2-core machine; an etcd election (the dead box's member led) renews every lease
# for another TTL, hence the margin (docs/failover-postgresql.md "Timings").
FAILOVER_BOUND = 45.0
SWITCHOVER_REFUSALS = 5.0
# The link between the boxes down: PostgreSQL drops the unanswering standby after standby_timeout_seconds
# (5 s), then Patroni's next loop (1 s) stops waiting for it; the tills' next retry goes through.
LINK_DOWN_STALL = 10.0


def test_a_patroni_pair_loses_no_acknowledged_order_through_a_death_a_rejoin_a_switchover_and_a_split(pg_rig, tmp_path):  # noqa: F811
    with pg_rig.logs_on_failure():
        the_story(pg_rig, tmp_path)


def status(box) -> dict:
    """`appliance failover status --json` on the box, as an IT person would run it."""
    done = box.appliance("failover", "status", "--json")
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def lease_check(box) -> str:
    """The monitors' failover_lease check, run on the box as an IT person would."""
    done = box.appliance("monitors", "run-once", "--check", "failover_lease", "--no-deliver")
    assert done.returncode == 0, done.stderr
    return done.stdout


def the_story(pg_rig, tmp_path):  # noqa: F811
    rig, a, b = pg_rig, pg_rig.a, pg_rig.b
    sold = lambda: history.load(tmp_path)  # noqa: E731 - the tills' answers so far

    def survivor_checked(box) -> None:
        """7: every acknowledged order on the survivor once, none acknowledged twice, stock/ledger/audit."""
        done, orders = sold(), rig.orders(box)
        assert history.lost(done, orders) == []
        assert history.duplicated(orders) == [] and history.duplicated(history.acks(done)) == []
        assert rig.problems(box) == []

    rig.start_tills(tmp_path / "history", SKUS)
    wait_for(lambda: len(history.acks(sold())) >= 20, timeout=30, what="the tills to sell")

    # 1. box-a loses power; Patroni promotes box-b, keepalived moves the address to it
    before = status(a)
    assert before["role"] == "primary" and before["lease_holder"] == "box-a", before
    assert before["standby"]["name"] == "box-b" and before["standby"]["synchronous"], before
    etcd_leader = rig.etcd_leader()
    killed = time.time()
    a.kill_everything()
    # orders carry no epoch on PostgreSQL: one sent while the SIGKILLs went out may have been box-a's
    # last answer, so box-b's first is the first one sent once every process of box-a is gone
    dead = time.time()
    wait_for(lambda: history.first_ack_after(sold(), dead), timeout=FAILOVER_BOUND + 15, step=0.2,
             what=f"an order acknowledged by box-b ({b.log('patroni', 1500)})")
    taken = history.first_ack_after(sold(), dead)["answered"] - killed
    print(f"scenario 1: orders taken again {taken:.1f} s after the kill (etcd leader: {etcd_leader})")
    assert taken <= FAILOVER_BOUND, f"orders taken again {taken:.1f} s after the kill"
    assert rig.role(b) == "primary" and b.holds_shop_address()
    after = status(b)
    assert after["role"] == "primary" and after["lease_holder"] == "box-b" and after["epoch"] > before["epoch"], after
    assert after["members"][rig.rest_api(a)].startswith("unreachable"), after
    alone = lease_check(b)  # no standby left: a second failure would stop the shop
    assert "warn" in alone and "with no standby" in alone and "standby-rebuild" in alone, alone
    survivor_checked(b)

    # 6. box-a boots again: a standby of box-b, never the address meanwhile
    rig.start_box(a)
    returned = time.monotonic()
    while rig.role(a) != "sync_standby":
        assert time.monotonic() - returned < 90, f"box-a did not rejoin as the standby:\n{a.log('patroni', 4000)}"
        code, said = rig.holds(a)
        assert code == 1, said
        assert not a.holds_shop_address() and b.holds_shop_address()
    timeline = rig.patroni_state(b)["timeline"]
    assert timeline == 2 and rig.patroni_state(a)["timeline"] == timeline
    print(f"scenario 6: box-a rejoined as the synchronous standby in {time.monotonic() - returned:.1f} s"
          f"{' (pg_rewind)' if 'running pg_rewind' in a.log('patroni', 100_000) else ''}")
    survivor_checked(b)

    # 5. a planned switchover back to box-a
    switching = time.time()
    promoted = a.appliance("failover", "promote", "--planned")
    assert promoted.returncode == 0, promoted.stderr
    rig.wait_for_role(a, "primary", timeout=30)
    on_a = time.time()
    wait_for(lambda: history.first_ack_after(sold(), on_a), timeout=30, step=0.1, what="orders on box-a")
    refused_for = history.longest_gap(sold(), switching, history.first_ack_after(sold(), on_a)["answered"])
    print(f"scenario 5: orders refused for at most {refused_for:.2f} s in the switchover")
    assert refused_for <= SWITCHOVER_REFUSALS, f"orders refused for {refused_for:.1f} s during the switchover"
    rig.wait_for_role(b, "sync_standby", timeout=60)
    survivor_checked(a)

    # 3. the link between the boxes down, the witness sees both: box-a keeps its key (two of three etcd
    # members), so nothing moves; its COMMITs wait for the standby it cannot reach until PostgreSQL
    # drops it (standby_timeout_seconds) and Patroni lets box-a go on alone
    rig.cut_between(a, b)
    link_down = time.time()
    while time.time() < link_down + FAST_TIMINGS["ttl_seconds"] + 2:  # past any key box-a stopped renewing
        assert rig.role(b) != "primary" and not b.holds_shop_address()
        time.sleep(0.5)
    assert rig.role(a) == "primary" and a.holds_shop_address()
    stalled = history.longest_gap(sold(), link_down, time.time())
    print(f"scenario 3: with the link between the boxes down, no acknowledged order for {stalled:.1f} s at most")
    assert stalled <= LINK_DOWN_STALL, f"no order acknowledged for {stalled:.1f} s with the link down"
    assert "box-b is not its synchronous standby" in lease_check(a)  # the orders are on box-a alone
    rig.heal()
    rig.wait_for_role(b, "sync_standby", timeout=60)  # it catches up, then box-a waits for it again
    assert "box-b is its synchronous standby" in lease_check(a)
    survivor_checked(a)

    # 2. box-a cut off from box-b and the witness; the tills still reach it
    wait_for(lambda: a.holds_shop_address(), timeout=10, what="the shop address on box-a")
    before = rig.patroni_state(a)["timeline"]
    rig.cut_between(a, b)
    rig.cut_between(a, rig.witness)
    cut = time.time()
    rig.wait_for_role(b, "primary", timeout=FAILOVER_BOUND + 15)
    # Patroni's history: [timeline left, LSN, reason, when, new leader]; the leader adds it a loop later
    switch = wait_for(lambda: next((h for h in rig.history(b) if h[0] == before and h[4] == "box-b"), None),
                      timeout=15, step=0.3, what="box-b's promotion in Patroni's history")
    promoted_at = datetime.fromisoformat(switch[3]).timestamp()
    wait_for(lambda: history.first_ack_after(sold(), promoted_at), timeout=30, step=0.1, what="orders on box-b")
    during = [e for e in history.acks(sold()) if cut <= e["answered"] < promoted_at]
    # what box-a acknowledged after the cut had reached box-b before it (synchronous): its last COMMITs
    assert all(e["answered"] - cut < 1.0 for e in during), [e["answered"] - cut for e in during]
    print(f"scenario 2: box-b promoted {promoted_at - cut:.1f} s after the cut, first order on it "
          f"{history.first_ack_after(sold(), promoted_at)['answered'] - cut:.1f} s after; box-a acknowledged "
          f"{len(during)} orders after the cut, the last {max((e['answered'] - cut for e in during), default=0):.2f} s after")
    term, timeline = rig.etcd_term(b), rig.patroni_state(b)["timeline"]
    rig.heal()  # box-a rejoins as box-b's standby as in 6 (not waited for: the suite's time)
    for _ in range(3):
        assert rig.holds(a)[0] == 1 and not a.holds_shop_address() and b.holds_shop_address()
        time.sleep(0.5)
    # box-a's etcd member comes back without unseating the leader (pre-vote: deploy/etcd/*.env): without
    # it, its term raised while away forced an election, box-b's Patroni could not reach etcd for its
    # retry_timeout and demoted itself, then took the key back on a new timeline (CI saw it)
    time.sleep(FAST_TIMINGS["retry_timeout_seconds"] + 1)
    assert rig.etcd_term(b) == term and rig.patroni_state(b)["timeline"] == timeline and rig.role(b) == "primary"
    rig.stop_tills()

    # 7. the survivor against the whole history
    survivor_checked(b)
    assert any(e["status"] == 409 for e in sold()), "SCARCE ran out: orders were refused for stock"
