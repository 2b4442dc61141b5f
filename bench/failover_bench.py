"""Failover benchmark (issue 12, first slice): a real 3-member etcd on loopback and two lease holders
(`appliance failover run`) in temp homes. Prints, per run, after the primary's lease holder is
SIGKILLed (its box can no longer renew):

- fence: from the kill to the instant the primary's box refuses writes (its permit's deadline),
- slack: from that instant to the earliest its lease could expire (must be > 0: fenced first),
- takeover: from the kill to the instant the standby may write (new epoch),

and what the write gate costs each write transaction (`appliance.fencing.check`, with a permit).

Then, as root, the namespace rig (tests/failover/rig.py: three machines, keepalived, `appliance
serve` on both boxes, tills ordering through the shop address; the rig's timings, TTL 3 s), a fresh
rig for each run of issue 12's scenarios 1 (every process of the primary SIGKILLed), 2 (the primary
cut off from box-b and the witness, the tills still reaching it) and 5 (planned switchover), and
one more for the standby's lag under ~100 orders/s, the pair's memory, and needless failovers
(the link between the boxes down, then the witness down, each for longer than a lease). The lag twice:
end to end, from each order's acknowledgement to the tills until it is in box-b's copy
(bench/standby_delay.py), and as the follower reports it (what it has not applied of the replica). Each
scenario run also prints the new primary's promotion phase by phase (`failover status --json`
last_promotion: for a switchover from the request on, with the old primary's part), then when the
shop address came up on it and when a till's order was first acknowledged.

    .venv/bin/python -m bench failover                          # both parts, 3 runs each
    .venv/bin/python -m bench failover --runs 1 --rig-runs 2
    .venv/bin/python -m bench failover --rig-only --rig-runs 2
    .venv/bin/python -m bench failover --rig-only --rig-runs 5 --loss-seconds 0 --scenarios switchover --no-steady
    .venv/bin/python -m bench failover --rig-only --rig-runs 0 --no-steady --loss-runs 4   # scenario 4 only

`--engine postgresql` runs the PostgreSQL pair under Patroni instead (tests/failover/pg_rig.py; no
loopback part, no lag or memory run): one rig per round, and in each round the chosen scenarios in
turn on whichever box is the primary then (1 killed, 2 cut off, 5 planned switchover to the standby),
the old primary brought back as the synchronous standby between them. Same table; "first accepted
order" is the first acknowledgement after the refusals the event started. `link` (3: the link between
the boxes down for longer than Patroni's TTL) and `loss` (4: 30 % of the primary's packets lost for
--loss-seconds) are PostgreSQL-only scenario names here: every change of Patroni's leader they cause
is a needless failover (issue 12: none for 3, at most one for 4); a box that demoted itself and took
the key back starts a timeline but moves nothing, and is printed apart.

    .venv/bin/python -m bench failover --engine postgresql --rig-runs 3
    .venv/bin/python -m bench failover --engine postgresql --rig-runs 2 --scenarios link,loss
"""
from __future__ import annotations

import argparse
import os
import signal
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from cli.wiring import register_operations, register_settings  # noqa: E402

register_settings()
register_operations()

from appliance import fencing  # noqa: E402
from bench import standby_delay  # noqa: E402
from tests.failover.pair import make_box  # noqa: E402
from tests.servers.etcd import start_etcd_cluster  # noqa: E402
from tests.servers.waiting import wait_for  # noqa: E402

TIMINGS = {
    "default (TTL 6, renew 1, retries 2, margin 2)": dict(lease_ttl_seconds=6, renew_interval_seconds=1.0, retries=2, fence_margin_seconds=2.0),
    "fast (TTL 3, renew 0.5, retries 2, margin 1)": dict(lease_ttl_seconds=3, renew_interval_seconds=0.5, retries=2, fence_margin_seconds=1.0),
}


def gate_cost(folder: Path, n: int = 200_000) -> float:
    fencing.write_permit(folder, fencing.Permit(True, fencing.boot_clock() + 3600, fencing.boot_id(), 1, "bench"))
    fencing.watch(folder)
    started = time.perf_counter()
    for _ in range(n):
        fencing.check()
    return (time.perf_counter() - started) / n * 1e6


def one_run(folder: Path, endpoints: list[str], run: str, timings: dict) -> tuple[float, float, float]:
    prefix = f"/bench-{os.getpid()}-{run}/"
    a = make_box(folder, f"a-{run}", endpoints, "primary", prefix, **timings)
    b = make_box(folder, f"b-{run}", endpoints, "standby", prefix, **timings)
    try:
        a.start(), b.start()
        try:
            wait_for(a.writes, timeout=30, what="box A to write")
        except AssertionError:
            print(a.log())
            raise
        time.sleep(2 * timings["renew_interval_seconds"])  # steady renewals
        os.kill(a.process.pid, signal.SIGKILL)
        killed = fencing.boot_clock()
        a.process.wait()
        state, permit = a.state(), a.permit()
        took = wait_for(lambda: b.writes() and fencing.boot_clock(), timeout=60, what="box B to write", step=0.005)
        assert b.state()["taken_at"] > state["expires_at"]
        return permit.until - killed, state["expires_at"] - permit.until, took - killed
    finally:
        a.stop(), b.stop()


# -- the namespace rig -------------------------------------------------------------------------------

TTL_FAST = 3  # the rig's lease TTL (tests/failover/pair.py)
AIMS = {"takeover": 10.0, "lag": 1.0, "memory": 60.0}  # issue 12's aims: s, s, MB per box


def rig_scenario(folder: Path, scenario: str) -> dict:
    """One run of scenario `kill`, `partition` or `switchover` on a fresh rig; its figures."""
    from tests.failover import rig_history as history
    from tests.failover.rig import Rig, standby_caught_up
    rig = Rig(folder)
    try:
        rig.build().start_pair().stock_the_shop()
        a, b = rig.a, rig.b
        wait_for(lambda: standby_caught_up(b), timeout=60, what="box-b's copy")
        rig.start_tills(folder / "history", ["TEA", "COFFEE", "SCARCE"])
        wait_for(lambda: len(history.acks(history.load(folder))) >= 20, timeout=30, what="the tills to sell")
        time.sleep(1)
        address = AddressWatch(b)
        started = time.time()
        if scenario == "kill":
            a.kill_everything()
        elif scenario == "partition":
            rig.cut_between(a, b)
            rig.cut_between(a, rig.witness)
        else:
            promoted = b.appliance("failover", "promote", "--planned")
            assert promoted.returncode == 0, promoted.stderr
        wait_for(lambda: history.first_ack_after(history.load(folder), started, min_epoch=2), timeout=60,
                 step=0.1, what="an order acknowledged by box-b")
        time.sleep(2)
        rig.stop_tills()
        address.stop()
        done = history.load(folder)
        first = history.first_ack_after(done, started, min_epoch=2)
        epochs = {e["epoch"] for e in history.acks(done)}
        lost = history.lost(history.acks(done), b.orders())
        return {"at": time.strftime("%H:%M:%S", time.gmtime(started)), "takeover": first["answered"] - started,
                "phases": breakdown(b, address.moved_at, first, last_ack_before(done, first)),
                "refused": history.longest_gap(done, started, first["answered"]),
                "lost": len(lost), "lost_age": max((started - e["answered"] for e in lost), default=0.0),
                "split": len(history.split_brain(done)),
                "needless": max(0, len(epochs) - 2),
                "problems": history.survivor_problems(b.home)}
    except BaseException:
        print(rig.logs())
        raise
    finally:
        rig.close()


class AddressWatch:
    """When the shop address came up on `box` (wall clock), watched on a thread of its own."""

    def __init__(self, box, step: float = 0.05):
        import threading
        self.box, self.step, self.moved_at = box, step, None
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._watch, daemon=True)
        self._thread.start()

    def _watch(self) -> None:
        while not self._stop.is_set() and self.moved_at is None:
            if self.box.holds_shop_address():
                self.moved_at = time.time()
            self._stop.wait(self.step)

    def stop(self) -> None:
        self._stop.set()
        self._thread.join()


def last_ack_before(history_: list[dict], first: dict) -> dict | None:
    """The old primary's last acknowledgement before the new primary's first (the refusals start after it)."""
    earlier = [e for e in history_ if e["outcome"] == "ack" and e["epoch"] != first["epoch"]
               and e["answered"] <= first["answered"]]
    return max(earlier, key=lambda e: e["answered"]) if earlier else None


def breakdown(box, address_at: float | None, first: dict, last_old: dict | None) -> dict[str, float]:
    """The promotion's phases as the new primary recorded them (`failover status --json`
    last_promotion; a planned one with the old primary's part), then the address and the first order."""
    from appliance import config
    from failover import control
    record = control.last_promotion(config.load(box.home).home) or {"timeline": {}, "phases": {}}
    timeline, found = record["timeline"], dict(record["phases"])
    granted = timeline.get("granted_at")
    if granted is not None and address_at is not None:
        found["address moved"] = round(address_at - granted, 3)  # negative: it moved before the grant
    if granted is not None:
        found["first accepted order"] = round(first["answered"] - max(granted, address_at or granted), 3)
    if last_old is not None and timeline.get("stopped_writing_at"):
        found["(last ack of the old primary, from its refusal)"] = round(
            last_old["answered"] - timeline["stopped_writing_at"], 3)
    return found


def rig_steady(folder: Path, seconds: float = 10) -> dict:
    """Lag under a stream of orders, the pair's memory per box, and needless failovers."""
    from tests.failover import rig_history as history
    from tests.failover.pair import TTL
    from appliance import config
    from failover import standby
    from tests.failover.rig import Rig, standby_caught_up, standby_lag
    rig = Rig(folder)
    try:
        rig.build().start_pair().stock_the_shop({"TEA": 1_000_000, "COFFEE": 1_000_000})
        a, b = rig.a, rig.b
        wait_for(lambda: standby_caught_up(b), timeout=60, what="box-b's copy")
        rig.start_tills(folder / "history", ["TEA", "COFFEE"], tills=4, pause=0.03)  # ~100 orders/s asked
        time.sleep(2)
        watch = standby_delay.CopyWatch(standby.paths(config.load(b.home))[2])  # end to end, beside the follower's
        lags, started = [], time.time()
        while time.time() - started < seconds:
            lag = standby_lag(b)
            if lag is not None:
                lags.append(lag)
            time.sleep(0.2)
        time.sleep(3)  # the orders acknowledged last reach the copy
        watch.stop()
        end_to_end = standby_delay.delays(history.acks(history.load(folder)), watch.seen, started, started + seconds)
        rate = len([e for e in history.acks(history.load(folder)) if started <= e["answered"] <= started + seconds]) / seconds
        memory = {box.role: pair_memory(box) for box in (a, b)}
        memory["at"] = time.strftime("%H:%M", time.gmtime())
        epoch = a.permit().epoch
        for cut, heal in ((lambda: rig.cut_between(a, b), rig.heal),
                          (lambda: rig.cut_off(rig.witness), lambda: rig.reconnect(rig.witness))):
            cut()
            time.sleep(TTL + 1.5)
            heal()
        time.sleep(1)
        needless = max(a.permit().epoch, b.permit().epoch) - epoch + (0 if a.writes() else 1)
        rig.stop_tills()
        return {"lags": lags, "rate": rate, "memory": memory, "needless": needless, "end_to_end": end_to_end,
                "copy_looks": (watch.looks, watch.refused)}
    finally:
        rig.close()


# What a box of a pair runs that a single box does not (its etcd member, the lease holder, keepalived
# and its VRRP child; on the standby the follower with its Litestream): issue 12's "the pair's extra
# memory". `appliance serve` (with its own replication) runs on a single box as well.
PAIR_PROCESSES = ("etcd", "holder", "keepalived", "follow")


def pair_memory(box) -> dict[str, list[dict]]:
    """Each pair process's tree on `box`, per process: RSS, PSS, USS (MB)."""
    return {name: rows for name in PAIR_PROCESSES if (rows := box.memory(name))}


def memory_lines(memory: dict) -> list[str]:
    """Per box: the pair's extra memory (RSS, PSS and USS sums), then each process."""
    lines = []
    for box, parts in memory.items():
        if box == "at":
            continue
        rows = [row for tree in parts.values() for row in tree]
        total = {kind: sum(row[kind] for row in rows) for kind in ("rss", "pss", "uss")}
        lines.append(f"  {box} ({memory['at']} UTC): the pair adds RSS {total['rss']:.0f} MB, PSS {total['pss']:.0f} MB, "
                     f"USS {total['uss']:.0f} MB (aim <= {AIMS['memory']:.0f} MB a box)")
        for name, tree in parts.items():
            lines.append(f"    {name}: " + "; ".join(f"{row['process']} RSS {row['rss']:.1f} / PSS {row['pss']:.1f} / "
                                                  f"USS {row['uss']:.1f}" for row in tree))
    return lines


def rig_lossy(folder: Path, seconds: float) -> dict:
    """Scenario 4: box-a's link loses 30 % of the packets each way for `seconds` (Rig.lossy: an XDP
    program drops them at random on its eth0 and its bridge port); failovers counted."""
    from tests.failover import rig_history as history
    from tests.failover.rig import Rig, lease_takes, standby_caught_up
    rig = Rig(folder)
    try:
        rig.build().start_pair().stock_the_shop({"TEA": 1_000_000, "COFFEE": 1_000_000})
        a, b = rig.a, rig.b
        wait_for(lambda: standby_caught_up(b), timeout=60, what="box-b's copy")
        rig.start_tills(folder / "history", ["TEA", "COFFEE"])
        time.sleep(1)
        rig.lossy(a, seconds, 0.3)
        time.sleep(TTL_FAST + 2)
        rig.stop_tills()
        done = history.load(folder)
        survivor = a if a.writes() else b
        takes = lease_takes(a, b)  # box-a may take its own lease back (box-b refused a lagging replica)
        a_epochs = {epoch for epoch, box in takes if box == "box-a"}
        lost = history.lost(history.acks(done), survivor.orders())
        last_a = max(e["answered"] for e in history.acks(done) if e["epoch"] in a_epochs)
        moves = sum(1 for (_, before), (_, after) in zip(takes, takes[1:]) if before != after)
        return {"failovers": moves, "takes": takes, "acks": len(history.acks(done)), "split": len(history.split_brain(done)),
                "lost": len(lost), "lost_age": max((last_a - e["answered"] for e in lost), default=0.0),
                "refused": sum(1 for e in done if e["outcome"] != "ack"), "survivor": survivor.role}
    finally:
        rig.close()


def rig_bench(folder: Path, runs: int, loss_seconds: float = 60, loss_runs: int = 1,
              scenarios: tuple[str, ...] = ("kill", "partition", "switchover"), with_steady: bool = True) -> None:
    if os.geteuid() != 0:
        print("namespace rig: skipped (needs root: it creates network namespaces)")
        return
    label = {"kill": "1 primary killed", "partition": "2 primary cut off", "switchover": "5 planned switchover"}
    for scenario in scenarios if runs > 0 else ():
        rows = [rig_scenario(folder / f"rig-{scenario}-{n}", scenario) for n in range(runs)]
        takeover = [r["takeover"] for r in rows]
        refused = [r["refused"] for r in rows]
        print(f"rig {label[scenario]} ({runs} runs): first accepted order {statistics.median(takeover):.2f} s "
              f"after (median; max {max(takeover):.2f}; aim <= {AIMS['takeover']:.0f}); longest time without an "
              f"acknowledgement {statistics.median(refused):.2f} s (max {max(refused):.2f}); acknowledged orders "
              f"lost {[r['lost'] for r in rows]} (the oldest acknowledged {max(r['lost_age'] for r in rows):.2f} s "
              f"before the event); split-brain writes {sum(r['split'] for r in rows)} (aim 0); "
              f"needless failovers {sum(r['needless'] for r in rows)}; survivor checks "
              f"{'ok' if not any(r['problems'] for r in rows) else [r['problems'] for r in rows]}")
        for n, r in enumerate(rows):
            print(f"  run {n + 1} ({r['at']} UTC, refused {r['refused']:.2f} s, lost {r['lost']}) phases: "
                  + ", ".join(f"{name} {seconds:.2f} s" for name, seconds in r["phases"].items()))
    for n in range(loss_runs if loss_seconds > 0 else 0):
        lossy = rig_lossy(folder / f"rig-lossy-{n}", loss_seconds)
        print(f"rig 4 box-a's link loses 30 % of the packets each way for {loss_seconds:.0f} s (XDP drop on its eth0 "
              f"and its bridge port; {time.strftime('%H:%M', time.gmtime())} UTC): {lossy['failovers']} failover(s) "
              f"(aim <= 1; lease taken {lossy['takes']}), {lossy['acks']} orders acknowledged, "
              f"{lossy['refused']} refused or unanswered, split-brain writes {lossy['split']}, acknowledged orders "
              f"missing on the box that sells at the end ({lossy['survivor']}): {lossy['lost']} (the oldest acknowledged "
              f"{lossy['lost_age']:.1f} s before box-a's last acknowledgement)")
    if not with_steady:
        return
    steady = rig_steady(folder / "rig-steady")
    lags = steady["lags"] or [float("nan")]
    print(f"rig acknowledged -> on the standby (each order from the tills' acknowledgement to the first look, every "
          f"{standby_delay.LOOK_SECONDS} s, that found it in box-b's copy; {steady['copy_looks'][0]} looks, "
          f"{steady['copy_looks'][1]} refused): {standby_delay.summary(steady['end_to_end'])}; "
          f"load average {os.getloadavg()[0]:.1f}")
    print(f"rig standby lag at {steady['rate']:.0f} orders/s acknowledged (4 tills asking ~100/s): median "
          f"{statistics.median(lags):.2f} s, 90th percentile {sorted(lags)[int(0.9 * (len(lags) - 1))]:.2f} s, max "
          f"{max(lags):.2f} s (aim <= {AIMS['lag']:.0f}; {len(lags)} samples, {time.strftime('%H:%M', time.gmtime())} UTC); "
          f"needless failovers with the link between the boxes down, "
          f"then the witness down: {steady['needless']} (aim 0); the pair's memory "
          "(what a single box does not run: etcd, the lease holder, keepalived, the standby's follower and its Litestream):")
    print("\n".join(memory_lines(steady["memory"])))


# -- the PostgreSQL pair (Patroni) on the namespace rig ----------------------------------------------

def first_ack_after_refusals(history_: list[dict], started: float) -> dict | None:
    """The first acknowledgement after the first refusal (or unanswered order) sent after `started`:
    on a Patroni pair both boxes' serve write to whichever PostgreSQL is primary, so an order is not
    tied to a box; the event's effect is the refusals, the new primary's the acknowledgements after."""
    refused = [e for e in history_ if e["sent"] >= started and e["outcome"] != "ack"]
    if not refused:
        return None
    first_refusal = min(e["sent"] for e in refused)
    later = [e for e in history_ if e["outcome"] == "ack" and e["sent"] > first_refusal]
    return min(later, key=lambda e: e["answered"]) if later else None


def patroni_timings(which: str) -> dict[str, int]:
    """The rig's fastest timings Patroni accepts (tests/servers/patroni.py), or what a box ships with
    (the [failover.patroni] defaults: docs/settings.md)."""
    from tests.servers.patroni import FAST_TIMINGS
    if which == "fast":
        return dict(FAST_TIMINGS)
    from failover.settings import PatroniSettings
    return {name: PatroniSettings.model_fields[name].default for name in FAST_TIMINGS}


def pg_disturbance(rig, primary, standby, scenario: str, sold, loss_seconds: float, ttl: int) -> dict:
    """Scenario 3 (the link between the boxes down for longer than Patroni's TTL, then healed) or 4
    (30 % of the primary's packets lost for `loss_seconds`): nothing should move. Its figures once the
    pair has settled again (a primary and its synchronous standby): failovers (timelines), the
    longest time without an acknowledgement, orders lost, split-brain writes."""
    from tests.failover import rig_history as history
    timeline = rig.patroni_state(primary)["timeline"]
    started = time.time()
    if scenario == "link":
        rig.cut_between(primary, standby)
        time.sleep(ttl + 2)
        rig.heal()
    else:
        rig.lossy(primary, loss_seconds, 0.3)
    ended = time.time()
    wait_for(lambda: {rig.role(primary), rig.role(standby)} == {"primary", "sync_standby"}, timeout=120,
             step=0.5, what=f"the pair to settle after {scenario}")
    survivor = primary if rig.role(primary) == "primary" else standby
    done, orders = sold(), rig.orders(survivor)
    # Patroni's history: [timeline left, LSN, reason, when, the leader after]; a box that demoted
    # itself and took the key back starts a timeline too, but moves nothing (as a SQLite box that
    # takes its own lease back): the failovers are the changes of leader
    leaders = [primary.role] + [h[4] for h in rig.history(survivor) if h[0] >= timeline and len(h) > 4]
    return {"scenario": scenario, "at": time.strftime("%H:%M:%S", time.gmtime(started)), "takeover": None,
            "refused": history.longest_gap(done, started, ended), "survivor": survivor,
            "lost": len(history.lost(history.acks(done), orders)),
            "split": len(history.duplicated(history.acks(done))),
            "needless": sum(1 for before, after in zip(leaders, leaders[1:]) if before != after),
            "timelines": rig.patroni_state(survivor)["timeline"] - timeline, "leaders": leaders,
            "problems": rig.problems(survivor), "load": os.getloadavg()[0]}


def pg_rig_round(folder: Path, scenarios: tuple[str, ...], rows: list[dict], loss_seconds: float,
                 timings: dict[str, int]) -> None:
    """One PostgreSQL rig, the scenarios in turn; each one's figures appended to `rows` as it ends
    (a round that fails keeps those of the scenarios before)."""
    from tests.failover import rig_history as history
    from tests.failover.pg_rig import PgRig
    rig = PgRig(folder)
    try:
        rig.build().start_pair(**timings).stock_the_shop({"TEA": 1_000_000, "COFFEE": 1_000_000})
        rig.start_tills(folder / "history", ["TEA", "COFFEE"])
        sold = lambda: history.load(folder)  # noqa: E731
        wait_for(lambda: len(history.acks(sold())) >= 20, timeout=30, what="the tills to sell")
        primary, standby = rig.a, rig.b
        for scenario in scenarios:
            time.sleep(1)
            if scenario in ("link", "loss"):
                rows.append(pg_disturbance(rig, primary, standby, scenario, sold, loss_seconds, timings["ttl_seconds"]))
                if rows[-1].pop("survivor") is standby:
                    primary, standby = standby, primary
                continue
            timeline = rig.patroni_state(primary)["timeline"]
            started = time.time()
            if scenario == "kill":
                primary.kill_everything()
            elif scenario == "partition":
                rig.cut_between(primary, standby)
                rig.cut_between(primary, rig.witness)
            else:
                promoted = standby.appliance("failover", "promote", "--planned")
                assert promoted.returncode == 0, promoted.stderr
            first = wait_for(lambda: first_ack_after_refusals(sold(), started), timeout=90, step=0.1,
                             what=f"orders acknowledged again after {scenario}")
            rig.wait_for_role(standby, "primary", timeout=30)
            done, orders = sold(), rig.orders(standby)
            rows.append({"scenario": scenario, "at": time.strftime("%H:%M:%S", time.gmtime(started)),
                         "takeover": first["answered"] - started,
                         "refused": history.longest_gap(done, started, first["answered"]),
                         "lost": len(history.lost(history.acks(done), orders)),
                         "split": len(history.duplicated(history.acks(done))),
                         "needless": rig.patroni_state(standby)["timeline"] - timeline - 1,
                         "problems": rig.problems(standby), "load": os.getloadavg()[0]})
            # the old primary back as the synchronous standby before the next scenario
            if scenario == "kill":
                rig.start_box(primary)
            elif scenario == "partition":
                rig.heal()
            rig.wait_for_role(primary, "sync_standby", timeout=120)
            primary, standby = standby, primary
        rig.stop_tills()
    except BaseException:
        print(rig.logs())
        raise
    finally:
        rig.close()


def pg_rig_bench(folder: Path, runs: int, scenarios: tuple[str, ...], loss_seconds: float = 60,
                 timings_named: str = "fast") -> None:
    if os.geteuid() != 0:
        print("namespace rig: skipped (needs root: it creates network namespaces)")
        return
    timings = patroni_timings(timings_named)
    label = {"kill": "1 primary killed", "partition": "2 primary cut off", "switchover": "5 planned switchover",
             "link": f"3 link between the boxes down {timings['ttl_seconds'] + 2} s", "loss": f"4 30 % loss on the primary {loss_seconds:g} s"}
    rows: list[dict] = []
    try:
        for n in range(runs):
            pg_rig_round(folder / f"pg-rig-{n}", scenarios, rows, loss_seconds, timings)
    finally:
        pg_rig_table(rows, scenarios, label, timings, timings_named)


def pg_rig_table(rows: list[dict], scenarios: tuple[str, ...], label: dict[str, str], timings: dict[str, int],
                 timings_named: str) -> None:
    print(f"PostgreSQL pair under Patroni ({timings_named} timings: TTL {timings['ttl_seconds']} s, loop_wait "
          f"{timings['loop_wait_seconds']} s, retry_timeout {timings['retry_timeout_seconds']} s), namespace rig:")
    print("| scenario | first order accepted after | longest without an acknowledgement | acknowledged orders lost "
          "| split-brain writes | needless failovers |")
    print("|---|---|---|---|---|---|")
    for scenario in scenarios:
        mine = [r for r in rows if r["scenario"] == scenario]
        if not mine:
            continue
        takeover, refused = [r["takeover"] for r in mine if r["takeover"] is not None], [r["refused"] for r in mine]
        taken = f"{statistics.median(takeover):.2f} s median (max {max(takeover):.2f})" if takeover else "—"
        print(f"| {label[scenario]} | {taken} "
              f"| {statistics.median(refused):.2f} s (max {max(refused):.2f}) | {', '.join(str(r['lost']) for r in mine)} "
              f"| {sum(r['split'] for r in mine)} | {sum(r['needless'] for r in mine)} |")
    for r in rows:
        first = (f"first order {r['takeover']:.2f} s after" if r["takeover"] is not None else
                 f"{r['timelines']} new timelines, leaders {' -> '.join(r['leaders'])}")
        print(f"  {r['scenario']} at {r['at']} UTC (load {r['load']:.1f}): {first}, needless failovers "
              f"{r['needless']}, longest without an acknowledgement {r['refused']:.2f} s, lost {r['lost']}, "
              f"survivor checks {r['problems'] or 'ok'}")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--rig-runs", type=int, default=3, help="runs of each scenario on the namespace rig")
    parser.add_argument("--rig-only", action="store_true", help="skip the loopback part")
    parser.add_argument("--loss-seconds", type=float, default=60, help="scenario 4's lossy minute (0: skip it)")
    parser.add_argument("--loss-runs", type=int, default=1, help="runs of scenario 4, each on a fresh rig")
    parser.add_argument("--scenarios", default="kill,partition,switchover",
                        help="the rig's scenarios to run, comma-separated (kill, partition, switchover; with "
                             "--engine postgresql also link and loss, scenarios 3 and 4; empty: none)")
    parser.add_argument("--no-steady", action="store_true", help="skip the rig's lag, memory and needless-failover run")
    parser.add_argument("--engine", choices=("sqlite", "postgresql"), default="sqlite",
                        help="postgresql: the Patroni pair on the namespace rig (scenarios 1, 2, 5) instead")
    parser.add_argument("--patroni-timings", choices=("fast", "shipped"), default="fast",
                        help="with --engine postgresql: the fastest timings Patroni accepts (TTL 20 s, loop_wait 1 s, "
                             "retry_timeout 3 s) or the [failover.patroni] defaults a box ships with")
    args = parser.parse_args()
    chosen = tuple(s for s in args.scenarios.split(",") if s)
    rig_args = dict(scenarios=chosen, with_steady=not args.no_steady)
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        if args.engine == "postgresql":
            pg_rig_bench(folder, args.rig_runs, chosen, args.loss_seconds, args.patroni_timings)
            return
        if args.rig_only:
            rig_bench(folder, args.rig_runs, args.loss_seconds, args.loss_runs, **rig_args)
            return
        print(f"write gate: {gate_cost(folder):.2f} µs per check (two per write transaction)")
        cluster = start_etcd_cluster(folder / "etcd")
        try:
            for n, (label, timings) in enumerate(TIMINGS.items()):
                rows = [one_run(folder, cluster.endpoints, f"{n}-{run}", timings) for run in range(args.runs)]
                fence, slack, takeover = zip(*rows)
                print(f"{label}: fence {statistics.median(fence):.2f} s after the kill (max {max(fence):.2f}), "
                      f"{min(slack):.2f} s before the lease could expire (min); standby writes "
                      f"{statistics.median(takeover):.2f} s after the kill (median; max {max(takeover):.2f}); "
                      f"split-brain instants: 0 (asserted: the standby's grant was sent after the expiry)")
        finally:
            cluster.stop()
        rig_bench(folder, args.rig_runs, args.loss_seconds, args.loss_runs, **rig_args)


if __name__ == "__main__":
    main()
