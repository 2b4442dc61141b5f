"""What `failover status`, `promote` and `demote` do (the CLI and the operations call these)."""
from __future__ import annotations

import json
import time
from pathlib import Path

from appliance import fencing
from appliance.config import Settings
from appliance.errors import Conflict, ServiceUnavailable

from . import standby
from .holder import (ACCEPT_LOSS_FILE, DEMOTED_FILE, PROMOTION_FILE, STATE_FILE, home_epoch, keys, replica_key,
                     report_key)
from .quorum import Quorum, QuorumUnavailable


def _quorum(settings: Settings) -> Quorum:
    return Quorum(settings.failover.etcd_endpoints, timeout=max(0.5, settings.failover.renew_interval_seconds))


def _holder_state(home: Path) -> dict:
    try:
        return json.loads((home / STATE_FILE).read_text())
    except (OSError, ValueError):
        return {}


def status(settings: Settings) -> dict:
    """Role, epoch, who holds the lease and since when it was renewed, fenced or not, members reachable."""
    f = settings.failover
    if f.engine == "patroni":
        from . import patroni
        return patroni.status(settings)
    home = settings.home
    permit = fencing.read_permit(home)
    refusal = permit.refusal() if permit is not None else None
    state = _holder_state(home)
    now = fencing.boot_clock()
    quorum = _quorum(settings)
    members = quorum.member_status(timeout=1.0)
    leader_key, epoch_key, _ = keys(settings)
    holder, epoch, lease_left, lease_granted, quorum_error, replica = None, None, None, None, None, None
    try:
        raw, _, lease_id = quorum.get(leader_key)
        raw_epoch, _, _ = quorum.get(epoch_key)
        epoch = int(raw_epoch) if raw_epoch else 0
        raw_replica = quorum.get(replica_key(settings))[0]
        replica = json.loads(raw_replica) if raw_replica else None
        if raw is not None:
            holder = json.loads(raw)
            lease_left, lease_granted = quorum.time_to_live(lease_id)
    except QuorumUnavailable as e:
        quorum_error = str(e)
    me = f.box_name
    is_holder = bool(holder and holder.get("holder") == me)
    renewed_at = state.get("renewed_at") if is_holder else None
    return {
        "enabled": f.enabled,
        "box": me,
        "role": "primary" if is_holder and refusal is None else ("fenced primary" if is_holder else "standby"),
        "epoch": epoch,
        "home_epoch": home_epoch(home),
        "lease_holder": holder.get("holder") if holder else None,
        "lease_epoch": holder.get("epoch") if holder else None,
        "lease_seconds_left": lease_left,
        "lease_age_seconds": (lease_granted - lease_left) if holder and lease_granted else None,
        "renewed_seconds_ago": round(now - renewed_at, 3) if renewed_at else None,
        "fenced": refusal is not None or permit is None and f.enabled,
        "fenced_reason": refusal or ("no lease holder has run on this box" if permit is None and f.enabled else None),
        "holder_process": state.get("pid"),
        "holding": bool(state.get("holding")),  # the lease holder's last word: it held the lease
        "members": members,
        "members_reachable": sum(1 for v in members.values() if v == "ok"),
        "quorum_error": quorum_error,
        # what the (last) primary said of its replica at its last renewal: a standby takes over by
        # itself only while lag_seconds is within max_lag_on_failover_seconds
        "primary_replica": replica,
        "max_lag_on_failover_seconds": f.max_lag_on_failover_seconds,
        "standby": standby.read_facts(settings),  # the follower's last pass (None: this box does not follow)
        "last_promotion": last_promotion(home),    # its timeline and phases (None: never promoted)
    }


# A switchover's steps, each named by the instant that ends it (wall clock: the instants of the old
# primary's part come from that box, so the phases across the two boxes assume the boxes' clocks
# agree, as NTP keeps them within milliseconds on a LAN). The follower usually applies the tail before
# it stops; without a follower to finish, the promotion stops it first and then applies the tail.
PHASES = (
    ("primary stops accepting", "stopped_writing_at"),   # from the request: the primary saw it and refuses
    ("tail shipped", "tail_shipped_at"),                 # its Litestream stopped, the last files in the replica
    ("lease moved", "took_lease_at"),                    # it gave the lease back, this box took it
    ("tail received", "tail_received_at"),               # the replica listed, the last files downloaded
    ("tail applied", "applied_at"),                      # Litestream's follow mode applied them to the copy
    ("follower stopped", "follower_stopped_at"),         # this box's follower (and its Litestream) stopped
    ("opened read-write", "granted_at"),                 # the copy moved into place, the write permit granted
)


def phases(timeline: dict) -> list[tuple[str, float]]:
    """(phase, seconds) for each step the timeline holds, in the order they ended, each from the end
    of the one before (the first from the request, when there was one)."""
    ends = sorted((timeline[end], name) for name, end in PHASES if timeline.get(end) is not None)
    found, previous = [], timeline.get("requested_at")
    for at, name in ends:
        if previous is not None:
            found.append((name, round(at - previous, 3)))
        previous = at
    return found


def last_promotion(home: Path) -> dict | None:
    """This box's last promotion: epoch, timeline (with the old primary's part for a planned one), phases."""
    try:
        record = json.loads((home / PROMOTION_FILE).read_text())
    except (OSError, ValueError):
        return None
    record["phases"] = dict(phases(record.get("timeline", {})))
    return record


def _wait_for(predicate, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.1)
    return False


def _granted(home: Path) -> fencing.Permit | None:
    permit = fencing.read_permit(home)
    return permit if permit is not None and permit.refusal() is None else None


def demote(settings: Settings) -> str:
    """Asks this box's lease holder to stop writing and give the lease back; waits until it has."""
    if settings.failover.engine == "patroni":
        return _patroni_switchover(settings, to_me=False)
    home = settings.home
    path = home / DEMOTED_FILE
    path.parent.mkdir(mode=0o700, exist_ok=True)
    path.write_text("demoted by an operator\n")
    if not _wait_for(lambda: _granted(home) is None, settings.failover.lease_ttl_seconds + 2):
        raise ServiceUnavailable("This box still holds its write permit: is its lease holder (failover run) stuck?")
    return f"{settings.failover.box_name} stands by: it writes nothing until `failover promote`."


def promote(settings: Settings, planned: bool = False, accept_loss: bool = False,
            wall_clock=time.time) -> str:
    """Lets this box take the lease: at once when it is free; with `planned`, asks the holder to hand
    over; with `accept_loss`, even from a primary whose replica was behind (failover/holder.py
    `_loss_if_taken`: its holder refuses that by itself)."""
    f = settings.failover
    if f.engine == "patroni":
        if accept_loss:
            raise Conflict("--accept-loss is for SQLite pairs: Patroni promotes only the synchronous standby, "
                           "which has every acknowledged transaction.")
        return _patroni_switchover(settings, to_me=True)
    home = settings.home
    (home / DEMOTED_FILE).unlink(missing_ok=True)
    if accept_loss:
        path = home / ACCEPT_LOSS_FILE
        path.parent.mkdir(mode=0o700, exist_ok=True)
        path.write_text(f"{wall_clock():.3f} an admin accepts losing what the primary did not ship\n")
    leader_key, _, handover_key = keys(settings)
    quorum = _quorum(settings)
    try:
        raw, _, lease_id = quorum.get(leader_key)
        holder = json.loads(raw) if raw else None
        if holder and holder.get("holder") != f.box_name:
            if not planned:
                raise Conflict(f"{holder.get('holder')} holds the lease (epoch {holder.get('epoch')}): "
                               f"use --planned to have it hand over, or wait for its lease to expire.")
            grant = quorum.grant(3 * f.lease_ttl_seconds)  # the request cleans itself up if nobody acts on it
            requested_at = time.time()
            quorum.put(handover_key, f.box_name, grant)
    except QuorumUnavailable as e:
        raise ServiceUnavailable(f"Cannot promote: the etcd quorum is unreachable ({e}).") from None
    permit = None
    if _wait_for(lambda: _granted(home) is not None, 3 * f.lease_ttl_seconds + 2):
        permit = _granted(home)
    if permit is None:
        raise ServiceUnavailable("This box did not get the lease in time: is its lease holder (failover run) running?")
    said = f"{f.box_name} is the primary with epoch {permit.epoch}."
    if planned and holder and holder.get("holder") != f.box_name:
        breakdown = _record_switchover(home, quorum, report_key(settings), requested_at, permit.epoch)
        if breakdown:
            said += " Switchover: " + ", ".join(f"{name} {seconds:.2f} s" for name, seconds in breakdown) + "."
    return said


def _record_switchover(home: Path, quorum: Quorum, key: str, requested_at: float, epoch: int) -> list:
    """Adds the request and the old primary's part (its report in etcd) to this box's promotion
    timeline; returns the phases. Nothing when this box's holder has not recorded this epoch's yet."""
    record = last_promotion(home)
    if record is None or record.get("epoch") != epoch:
        return []
    try:
        raw, _, _ = quorum.get(key)
        report = json.loads(raw) if raw else {}
    except (QuorumUnavailable, ValueError):
        report = {}
    timeline = {**report, **record["timeline"], "requested_at": requested_at}
    path = home / PROMOTION_FILE
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps({"epoch": epoch, "timeline": timeline}))
    tmp.replace(path)
    return phases(timeline)


def _patroni_switchover(settings: Settings, to_me: bool) -> str:
    """On a Patroni pair, promote and demote are Patroni switchovers (planned: it waits for the
    synchronous standby, so nothing acknowledged is lost); a failover is Patroni's own business."""
    from . import patroni
    me = settings.failover.box_name
    try:
        if not to_me:
            primary = patroni.status(settings)["lease_holder"]
            if primary != me:
                return f"{me} is already a standby (the primary is {primary or 'nobody yet'})."
        return patroni.switchover(settings, me if to_me else None)
    except patroni.PatroniError as e:
        raise ServiceUnavailable(str(e)) from None
