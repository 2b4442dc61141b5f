"""The pair's checks (failover/, docs/failover.md), enabled only when `[failover] enabled` is true:
the leader lease (held by the box that should hold it, renewed in time), the etcd members this box
reaches (one down: warn; the quorum lost: crit), and a fenced primary. They read
`failover.facts.pair_status`: one look at etcd shared by the three."""
from __future__ import annotations

from datetime import timezone

from appliance.config import Settings
from failover import facts

from . import Check, CheckContext, Result, crit, ok, unknown


def _enabled(settings: Settings) -> bool:
    section = getattr(settings, "failover", None)
    return bool(section is not None and section.enabled)


def _follows(settings: Settings) -> bool:
    """A box of a SQLite pair: as a standby it follows the primary's replica (failover/standby.py)."""
    return _enabled(settings) and bool(settings.backup.replication.target) and settings.database.url.startswith("sqlite:")


def lease(ctx: CheckContext) -> Result:
    """Who holds the lease and how much of its TTL is left; crit when this box should hold it and
    does not, when it holds it but is fenced, or when nobody holds it (no box takes orders)."""
    s = facts.pair_status(ctx.settings)
    if s.get("engine") == "patroni":
        return _patroni_leader(ctx, s)
    ttl = ctx.settings.failover.lease_ttl_seconds
    holder, me, epoch = s["lease_holder"], s["box"], s["lease_epoch"]
    meant = facts.meant_to_hold(ctx.settings)
    if s["quorum_error"] and holder is None:
        if meant or s.get("holding"):
            return crit(None, f"this box should hold the lease but cannot read it: {s['quorum_error']}")
        return unknown(f"the lease cannot be read: {s['quorum_error']}")
    if holder is None:  # this box's refusal says why it does not take it (e.g. the replica lag bound)
        why = f" ({s['fenced_reason']})" if s.get("fenced_reason") else ""
        return crit(0, f"nobody holds the lease: neither box takes orders{why}")
    left = s["lease_seconds_left"]
    if holder == me and s["fenced"]:
        return crit(left, f"this box holds the lease (epoch {epoch}) but is fenced: {s['fenced_reason']}")
    if holder != me and meant:
        return crit(left, f"{holder} holds the lease (epoch {epoch}): this box, the intended primary, "
                          f"stands by (failover-to-standby; fail-back once this box is sound)")
    renewed = s["lease_age_seconds"]
    reason = (f"{'this box' if holder == me else holder} holds the lease (epoch {epoch}), "
              f"{left} s of {ttl} s left" + (f", renewed {renewed} s ago" if renewed is not None else ""))
    if left is None or left < 0:
        return crit(left, f"the lease of {holder} (epoch {epoch}) has expired")
    share = left / ttl
    state = ctx.grade(share, higher_is_worse=False)
    if state != "ok":
        reason += ": the renewals fall behind"
    return Result(state, left, reason, {"ttl": ttl, "holder": holder})


def _patroni_leader(ctx: CheckContext, s: dict) -> Result:
    """A PostgreSQL pair: Patroni's leader key, not a lease of ours. Crit with no leader (nobody takes
    orders) or when the intended primary stands by; warn with no standby, or one that is not
    synchronous (the link between the boxes down, or catching up); the timeline is the epoch."""
    holder, me, timeline = s["lease_holder"], s["box"], s["lease_epoch"]
    if holder is None:
        why = s["quorum_error"] or "Patroni names no leader"
        return crit(0, f"no PostgreSQL primary: {why}")
    if holder != me and facts.meant_to_hold(ctx.settings):
        return crit(1, f"{holder} is the primary (timeline {timeline}): this box, the intended primary, stands by "
                       f"(failover-to-standby; fail-back once this box is sound)")
    standby = s["standby"]
    if standby is None:
        return Result("warn", 1, f"{'this box' if holder == me else holder} is the primary (timeline {timeline}) "
                                 "with no standby: a failover would have nowhere to go (standby-rebuild)")
    primary = f"{'this box' if holder == me else holder} is the primary (timeline {timeline})"
    if not standby["synchronous"]:
        # Patroni promotes only the standby it named synchronous, and a primary whose standby stopped
        # answering goes on alone (standby_timeout_seconds): its orders are on one box only
        return Result("warn", 1, f"{primary}; {standby['name']} is not its synchronous standby: new orders are "
                                 f"on one box only, and no failover can happen until {standby['name']} has caught "
                                 f"up (standby-rebuild if it does not)")
    return ok(1, f"{primary}; {standby['name']} is its synchronous standby")


def members(ctx: CheckContext) -> Result:
    """etcd members this box reaches (with a leader in sight): all ok; one down warns (the pair goes
    on, but one more loss stops it); fewer than a majority is crit (no box may write)."""
    s = facts.pair_status(ctx.settings)
    found = s["members"]
    reachable, total = s["members_reachable"], len(found)
    down = [f"{url} ({why})" for url, why in found.items() if why != "ok"]
    if reachable >= total:
        return ok(reachable, f"{reachable} of {total} etcd members reachable")
    if reachable >= facts.majority(total):
        return Result("warn", reachable, f"{reachable} of {total} etcd members reachable; down: {', '.join(down)}: "
                                         f"one more loss stops the pair (witness-lost)")
    return crit(reachable, f"the etcd quorum is lost from this box: {reachable} of {total} members reachable "
                           f"(down: {', '.join(down)}); a primary here stops writing")


def fenced(ctx: CheckContext) -> Result:
    """A primary (this box holds the lease) that is fenced takes no orders: crit. A box that may write
    while etcd names another holder is crit too (it must never happen). A fenced standby is normal."""
    s = facts.pair_status(ctx.settings)
    holder, me = s["lease_holder"], s["box"]
    if holder == me and s["fenced"]:
        return crit(1, f"this box is the primary (epoch {s['lease_epoch']}) but fenced: {s['fenced_reason']}")
    if holder is None and s["fenced"] and s.get("holding"):
        # its lease holder last held the lease (stalled, or cut off from etcd): nobody takes orders
        return crit(1, f"this box was the primary (epoch {s['home_epoch']}) and is fenced: {s['fenced_reason']}")
    if not s["fenced"] and holder is not None and holder != me:
        return crit(0, f"this box may write while {holder} holds the lease (epoch {s['lease_epoch']})")
    if s["fenced"]:
        return ok(1, f"standby, fenced as it should be: {s['fenced_reason']}")
    return ok(0, f"primary, writing (epoch {s['lease_epoch'] or s['home_epoch']})")


def standby_lag(ctx: CheckContext) -> Result:
    """How far the standby copy is behind the primary's replica (failover follow): 0 while it holds
    the newest transaction. A standby that follows nothing (its follower stopped, or never started)
    is crit: a promotion would start from an old copy or from nothing. A box that writes follows nobody."""
    from failover import standby
    from appliance import fencing
    if fencing.permits_writes(ctx.settings.home):
        return ok(0, "primary: it follows nobody")
    s = standby.read_facts(ctx.settings)
    now = ctx.now.replace(tzinfo=timezone.utc).timestamp()
    stale_after = 5 * ctx.settings.failover.follow_interval_seconds + 10
    if s is None or not s["following"] or now - s["at"] > stale_after:
        return crit(None, "this standby follows no primary (failover follow is not running): a promotion would "
                          "start from an old copy (standby-rebuild)")
    if s["lag_seconds"] is None:
        return unknown(f"the standby copy's lag is not known yet: {s['error'] or 'nothing applied yet'}")
    reason = (f"the standby copy holds transaction {s['applied_txid']} of {s['newest_txid']}, "
              f"{s['lag_seconds']:.1f} s behind" + (f"; {s['error']}" if s["error"] else ""))
    return Result(ctx.grade(s["lag_seconds"]), s["lag_seconds"], reason, {"applied_txid": s["applied_txid"]})


CHECKS = [
    Check("failover_lease", "failover", lease, "seconds left on the pair's leader lease (warn below a share of the TTL)",
          15, "failover-to-standby", warn=0.34, confirm_count=2, applies=_enabled),
    Check("failover_members", "failover", members, "etcd members of the pair this box reaches", 30, "witness-lost",
          applies=_enabled),
    Check("failover_fenced", "failover", fenced, "1 when this box is fenced (crit when it is the primary)", 15,
          "failover-to-standby", confirm_count=2, applies=_enabled),
    Check("failover_standby_lag", "failover", standby_lag, "seconds the standby's copy of the primary's database is "
          "behind the replica (crit when nothing follows it)", 15, "standby-rebuild", warn=5, crit=60,
          applies=_follows),
]
