"""The lease holder: takes the pair's leader key under an etcd lease, with a new epoch, and renews it.

One process per box (`appliance failover run`). Its only way to let the box write is the core's
write permit (appliance/fencing.py), rewritten after each confirmed renewal with a deadline of

    (when the renewal was *sent*) + lease TTL - fence margin

etcd resets the lease's TTL when it handles the renewal, which is after it was sent, so the lease
cannot expire before `sent + TTL`; the box stops writing `fence margin` earlier. Every writer
compares the clock with the deadline itself before each COMMIT: if this loop stalls, is stopped or
dies, the permit simply runs out. A standby can only take the key once etcd has deleted it with the
expired lease (the take is a transaction on create_revision == 0), so never before that instant.

Epochs: each take puts `epoch + 1` in the same transaction (compared on the epoch key's revision),
so epochs only grow; the box keeps the highest it has held in `fence/epoch` in its home.
"""
from __future__ import annotations

import json
import logging
import os
import signal
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from appliance import fencing
from appliance.config import Settings

from . import standby
from .quorum import Quorum, QuorumUnavailable

log = logging.getLogger(__name__)

EPOCH_FILE = Path("fence") / "epoch"
DEMOTED_FILE = Path("fence") / "demoted"       # an operator asked this box to stand by (failover demote)
STATE_FILE = Path("fence") / "holder.json"    # what the holder last did (failover status)
PROMOTION_FILE = Path("fence") / "promotion.json"  # the timeline of this box's last promotion
# `failover promote --accept-loss`: take over even from a primary whose replica was behind (the
# admin's wall-clock instant; honoured for ACCEPT_LOSS_SECONDS, so a forgotten one decides nothing later)
ACCEPT_LOSS_FILE = Path("fence") / "accept-loss"
ACCEPT_LOSS_SECONDS = 300
# The replication supervisor's state (backup/replication/state.py STATE_FILE; read as JSON, not
# imported: the replica code costs the lean holder ~30 MB)
REPLICATION_STATE_FILE = Path("run") / "replication.json"
# keepalived's track_file (deploy/keepalived/keepalived.conf): what this box adds to its VRRP
# priority. The lease holder (writing, or applying the tail in a promotion) adds HOLDER_VRRP_WEIGHT,
# so in a switchover the new holder, once its check passes, preempts the old one at its next
# advertisement: the address moves from box to box instead of leaving one box and coming to the
# other a master-down interval later, meanwhile held by nobody (a till's connection attempt then is
# lost, and TCP tries again only a second later). Priorities decide nothing else: a box whose check
# fails is in FAULT whatever its priority.
VRRP_WEIGHT_FILE = Path("fence") / "vrrp-weight"
HOLDER_VRRP_WEIGHT = 50
HANDOVER_SHIP_SECONDS = 15  # a planned switchover waits at most this long for the replica
# While a switchover or a promotion is under way the holder steps this often instead of every renew
# interval: each step of a handover waits on another process (the replication stopping, the lease
# coming free, the tail applied), and every renew interval spent waiting for the next look is a
# moment the shop takes no orders. A few seconds of etcd requests at this rate cost nothing.
BUSY_STEP_SECONDS = 0.1


def keys(settings: Settings) -> tuple[str, str, str]:
    prefix = settings.failover.key_prefix
    return prefix + "leader", prefix + "epoch", prefix + "handover"


def replica_key(settings: Settings) -> str:
    """Where the primary says, at each renewal, how far its replica is behind (no lease: it must
    outlive the primary's, for the standby that considers taking over)."""
    return settings.failover.key_prefix + "replica"


def report_key(settings: Settings) -> str:
    """Where the primary that handed over leaves the timeline of its part (under the request's lease)."""
    return settings.failover.key_prefix + "handover-report"


def home_epoch(home: Path) -> int:
    try:
        return int((Path(home) / EPOCH_FILE).read_text().strip() or 0)
    except (OSError, ValueError):
        return 0


def _write_atomically(path: Path, text: str, durable: bool = False) -> None:
    path.parent.mkdir(mode=0o700, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(text)
        if durable:
            f.flush()
            os.fsync(f.fileno())
    os.replace(tmp, path)


def remember_epoch(home: Path, epoch: int) -> None:
    """The home keeps the highest epoch this box has held (it never goes down)."""
    if epoch > home_epoch(home):
        _write_atomically(Path(home) / EPOCH_FILE, f"{epoch}\n", durable=True)


@dataclass
class Handover:
    """A planned switchover this box (the primary) is carrying out."""
    target: str
    since: float                   # boot clock: when this box saw the request
    request_lease: int             # the request's lease: the report goes with it
    timeline: dict = field(default_factory=dict)  # wall clock instants, for the switchover's breakdown


@dataclass
class Held:
    lease_id: int
    epoch: int
    sent: float          # boot clock when the last confirmed renewal (or the grant) was sent
    taken: float         # boot clock when the grant of this epoch's lease was sent


class LeaseHolder:
    def __init__(self, settings: Settings, quorum: Quorum | None = None, wall_clock: Callable[[], float] = time.time):
        self.settings = settings
        self.f = settings.failover
        self.home = settings.home
        self.name = self.f.box_name
        self.quorum = quorum or Quorum(self.f.etcd_endpoints, timeout=self.f.renew_interval_seconds)
        self.leader_key, self.epoch_key, self.handover_key = keys(settings)
        self.held: Held | None = None
        self.hold_off_until = 0.0
        self.stop_event = threading.Event()
        self.wall_clock = wall_clock
        self._handing_over: Handover | None = None  # a planned switchover away from this box
        self._handover_to_me = False                # a planned switchover to this box is asked for
        self._promotion: threading.Thread | None = None
        self._promotion_result: dict | None = None
        self._promotion_error: str | None = None
        self._promotion_timeline: dict | None = None  # wall clock instants of the promotion under way
        self._vrrp_weight: int | None = None  # what VRRP_WEIGHT_FILE says now (None: not written yet)
        self._lag = LagPublisher(settings, wall_clock)

    # -- the permit --------------------------------------------------------------------------------

    def _grant(self) -> None:
        held = self.held
        if self._promoting():
            if self.held is not None:  # (a failed promotion has given the lease back)
                # The shop address may come here meanwhile (failover.holds): this box holds the
                # lease and is the only one that can write next; the permit still decides writes.
                self._refuse(f"it is applying what it received from the primary before it writes (epoch {held.epoch})",
                             promoting=True, boot_id=fencing.boot_id(),
                             fence_at=held.sent + self.f.fence_after_seconds)
            return
        until = held.sent + self.f.fence_after_seconds
        # the state first: whoever sees the permit granted finds the state that goes with it
        self._state(renewed_at=held.sent, taken_at=held.taken, fence_at=until,
                    expires_at=held.sent + self.f.lease_ttl_seconds)
        if self._promotion_timeline is not None:  # before the permit: whoever sees it granted finds the record
            self._record_promotion(held.epoch)
        fencing.write_permit(self.home, fencing.Permit(True, until, fencing.boot_id(), held.epoch, self.name,
                                                       f"holds the lease (epoch {held.epoch})"))
        self._announce(holding=True)
        self._lag.publish(held.epoch)

    def _loss_if_taken(self, epoch: int) -> str | None:
        """Why this box must not take over from the holder of `epoch` by itself: that primary's replica
        was more than max_lag_on_failover_seconds behind when it last renewed (and no admin accepted the
        loss), so the orders it acknowledged meanwhile are in no copy this box can apply. None: take."""
        bound = self.f.max_lag_on_failover_seconds
        try:
            raw = self.quorum.get(replica_key(self.settings))[0]
            said = json.loads(raw) if raw else None
        except ValueError:
            said = None
        if not bound or not said or said.get("holder") == self.name or said.get("epoch") != epoch:
            return None
        lag = float(said.get("lag_seconds") or 0.0)
        if lag <= bound:
            return None
        shipped = float(said.get("shipped_through") or 0)
        since = (time.strftime("%H:%M:%S", time.localtime(shipped)) if shipped
                 else "it took the lease (its replica has shipped nothing since)")
        if self._loss_accepted():
            log.warning("failover: taking over from %s although its replica was %.0f s behind: an admin accepted "
                        "losing what it acknowledged since %s", said.get("holder"), lag, since)
            return None
        return (f"{said.get('holder')}'s replica was {lag:.0f} s behind when it last renewed its lease (epoch "
                f"{epoch}): taking over would lose the orders it acknowledged since {since}, over "
                f"max_lag_on_failover_seconds ({bound:g} s). Bring {said.get('holder')} back, or accept the loss: "
                "`appliance failover promote --accept-loss` (then `failover rejoin` there lists those orders)")

    def _loss_accepted(self) -> bool:
        try:
            accepted_at = float((Path(self.home) / ACCEPT_LOSS_FILE).read_text().split()[0])
        except (OSError, ValueError, IndexError):
            return False
        return 0 <= self.wall_clock() - accepted_at <= ACCEPT_LOSS_SECONDS

    def _refuse(self, reason: str, **state) -> None:
        current = fencing.read_permit(self.home)
        if current is None or current.granted or current.reason != reason:
            fencing.write_permit(self.home, fencing.Permit(False, 0.0, fencing.boot_id(), home_epoch(self.home),
                                                           self.name, reason))
        self._state(**state)
        self._announce(holding=bool(state.get("promoting")))

    def _announce(self, holding: bool) -> None:
        """VRRP_WEIGHT_FILE, rewritten only when it changes (keepalived reads it on each change)."""
        weight = HOLDER_VRRP_WEIGHT if holding else 0
        if weight != self._vrrp_weight:
            _write_atomically(Path(self.home) / VRRP_WEIGHT_FILE, f"{weight}\n")
            self._vrrp_weight = weight

    def _state(self, **extra) -> None:
        state = {"name": self.name, "pid": os.getpid(), "at": fencing.boot_clock(),
                 "holding": self.held is not None, "epoch": self.held.epoch if self.held else home_epoch(self.home),
                 "lease_id": self.held.lease_id if self.held else 0, **extra}
        _write_atomically(Path(self.home) / STATE_FILE, json.dumps(state))

    # -- one step every renew interval ---------------------------------------------------------------

    def step(self) -> None:
        demoted = (Path(self.home) / DEMOTED_FILE).exists()
        if self.held is not None:
            if demoted:
                self.release("an operator demoted it (failover demote)")
                return
            self._renew()
        elif demoted:
            self._refuse("an operator demoted it to standby (failover promote undoes it)")
        else:
            self._try_take()

    def _renew(self) -> None:
        held = self.held
        try:
            ttl, sent = self.quorum.keepalive(held.lease_id, fencing.boot_clock)
        except QuorumUnavailable as e:
            log.warning("failover: lease renewal failed (%s); this box stops writing at +%.1f s",
                        e, held.sent + self.f.fence_after_seconds - fencing.boot_clock())
            return  # the permit runs out on its own
        if ttl <= 0:
            log.error("failover: the lease (epoch %s) expired; this box stands by", held.epoch)
            self.held = None
            self._refuse(f"its lease (epoch {held.epoch}) expired before it could renew it")
            return
        held.sent = sent
        if self._handing_over is not None:
            self._finish_hand_over()
            return
        self._grant()
        self._hand_over_if_asked()

    def _hand_over_if_asked(self) -> None:
        target, _, request_lease = self._get_handover()
        if target and target != self.name:
            # Writes stop now; the lease goes once the last transactions are in the replica the
            # standby applies when it takes over (or after HANDOVER_SHIP_SECONDS). No hold-off
            # afterwards: while the handover key names the other box this one does not contend
            # (_try_take), and once that box holds the key it cannot; if it dies, this one takes over.
            self._handing_over = Handover(target, fencing.boot_clock(), request_lease,
                                          {"request_seen_at": self.wall_clock()})
            self._finish_hand_over()

    def _get_handover(self) -> tuple[str | None, int, int]:
        try:
            return self.quorum.get(self.handover_key)
        except QuorumUnavailable:
            return None, 0, 0

    def _finish_hand_over(self) -> None:
        handover = self._handing_over
        waited = fencing.boot_clock() - handover.since
        if _last_transactions_shipped(self.settings) or waited >= HANDOVER_SHIP_SECONDS:
            self._handing_over = None
            if waited >= HANDOVER_SHIP_SECONDS:
                log.warning("failover: handing over to %s without the replica confirming the last transactions",
                            handover.target)
            handover.timeline.setdefault("stopped_writing_at", self.wall_clock())  # nothing was left to ship
            handover.timeline["tail_shipped_at"] = self.wall_clock()
            handover.timeline["shipped_confirmed"] = waited < HANDOVER_SHIP_SECONDS
            self._report_hand_over(handover)
            self.release(f"it handed over to {handover.target} (planned switchover)")
        else:
            self._refuse(f"it hands over to {handover.target}: its last transactions are being shipped")
            handover.timeline.setdefault("stopped_writing_at", self.wall_clock())

    def _report_hand_over(self, handover: Handover) -> None:
        """Leaves this box's part of the switchover's timeline for the promoting box (`failover
        promote --planned` prints the breakdown); under the request's lease, so it goes with it."""
        report = {"by": self.name, **handover.timeline, "released_at": self.wall_clock()}
        try:
            self.quorum.put(report_key(self.settings), json.dumps(report), handover.request_lease)
        except QuorumUnavailable as e:
            log.warning("failover: could not leave the switchover's timeline in etcd (%s)", e)

    def _try_take(self) -> None:
        try:
            leader, _, leader_lease = self.quorum.get(self.leader_key)
            if leader is not None:
                value = json.loads(leader)
                if value.get("holder") == self.name and leader_lease and self._adopt(leader_lease, int(value["epoch"])):
                    return
                self._refuse(f"{value.get('holder', 'another box')} holds the lease (epoch {value.get('epoch')})")
                self._handover_to_me = self._get_handover()[0] == self.name  # then look again soon
                return
            target, _, _ = self.quorum.get(self.handover_key)
            self._handover_to_me = target == self.name
            if target and target != self.name:
                self._refuse(f"a planned switchover to {target} is under way")
                return
            if fencing.boot_clock() < self.hold_off_until:
                self._refuse("it stands by for one lease TTL after starting (role = standby)")
                return
            raw_epoch, epoch_revision, _ = self.quorum.get(self.epoch_key)
            unsafe = self._loss_if_taken(int(raw_epoch or 0))
            if unsafe:
                self._refuse(unsafe)
                return
            epoch = max(int(raw_epoch or 0), home_epoch(self.home)) + 1
            sent = fencing.boot_clock()
            lease_id = self.quorum.grant(self.f.lease_ttl_seconds)
            value = {"holder": self.name, "epoch": epoch, "lease": lease_id}
            if not self.quorum.take(self.leader_key, self.epoch_key, epoch_revision, value, epoch, lease_id):
                self.quorum.revoke(lease_id)
                self._refuse("another box took the lease first")
                return
        except QuorumUnavailable as e:
            self._refuse(f"it cannot reach the etcd quorum ({e})")
            return
        remember_epoch(self.home, epoch)
        (Path(self.home) / ACCEPT_LOSS_FILE).unlink(missing_ok=True)  # it was for this takeover
        self.held = Held(lease_id, epoch, sent, sent)
        self._handover_to_me = False
        if standby.has_copy(self.settings):
            self._promotion_timeline = {"took_lease_at": self.wall_clock(), "planned": target == self.name}
            self._start_promotion(epoch)
        self._grant()
        log.warning("failover: %s took the lease with epoch %s", self.name, epoch)
        if target == self.name:
            try:
                self.quorum.delete(self.handover_key)
            except QuorumUnavailable:
                pass

    # -- a standby's promotion -------------------------------------------------------------------------

    def _start_promotion(self, epoch: int) -> None:
        """Applies the standby copy's tail and moves it into place (standby.take_over) on a thread of
        its own, while this loop keeps renewing the lease; the permit is granted once it is done."""
        def promote() -> None:
            try:
                self._promotion_result = standby.take_over(self.settings)
                log.warning("failover: the standby copy is the database now (%s)", self._promotion_result)
            except Exception as e:  # noqa: BLE001 - recorded; the box stands by until an operator acts
                self._promotion_error = getattr(e, "message", None) or str(e)
                log.error("failover: the promotion failed: %s", self._promotion_error)
        self._promotion_result = self._promotion_error = None
        self._promotion = threading.Thread(target=promote, name=f"promotion-{epoch}", daemon=True)
        self._promotion.start()

    def _promoting(self) -> bool:
        """True while a promotion runs; a failed one gives the lease back and demotes this box."""
        if self._promotion is None:
            return False
        if self._promotion.is_alive():
            return True
        self._promotion = None
        if self._promotion_error is not None:
            self._promotion_timeline = None
            _write_atomically(Path(self.home) / DEMOTED_FILE,
                              f"the promotion failed: {self._promotion_error} (failover promote retries)\n")
            self.release(f"its promotion failed: {self._promotion_error}")
            return True
        return False

    def _record_promotion(self, epoch: int) -> None:
        """The promotion's timeline once the box may write: taken, follower stopped, tail received,
        applied, the copy in place, granted (wall clock; `failover promote` and the bench read it)."""
        timeline = {**self._promotion_timeline, **(self._promotion_result or {}).get("timeline", {}),
                    "granted_at": self.wall_clock()}
        self._promotion_timeline = None
        _write_atomically(Path(self.home) / PROMOTION_FILE, json.dumps({"epoch": epoch, "timeline": timeline}))

    def _adopt(self, lease_id: int, epoch: int) -> bool:
        """This box's own lease from before a restart of the holder: renew it rather than wait it out."""
        try:
            ttl, sent = self.quorum.keepalive(lease_id, fencing.boot_clock)
        except QuorumUnavailable:
            return False
        if ttl <= 0:
            return False
        self.held = Held(lease_id, epoch, sent, sent)
        remember_epoch(self.home, epoch)
        self._grant()
        return True

    def release(self, reason: str) -> None:
        """Stops writing first, then gives the lease back (its key goes with it)."""
        held, self.held = self.held, None
        self._refuse(reason)
        if held is not None:
            try:
                self.quorum.revoke(held.lease_id)
            except QuorumUnavailable as e:
                log.warning("failover: could not give the lease back (%s); it expires on its own", e)

    # -- the process ---------------------------------------------------------------------------------

    def run(self) -> None:
        """Steps every renew interval until stop(); a standby first waits one TTL (role hint)."""
        permit = fencing.read_permit(self.home)
        if permit is None or permit.refusal() is not None:
            # A permit still valid was granted by this box's previous holder process (crashed or
            # restarted): it stays safe until its deadline, and this holder adopts the lease meanwhile.
            self._refuse("the lease holder is starting")
        if self.f.role == "standby":
            self.hold_off_until = fencing.boot_clock() + self.f.lease_ttl_seconds
        while not self.stop_event.is_set():
            started = fencing.boot_clock()
            try:
                self.step()
            except Exception:  # noqa: BLE001 - the loop must go on; the permit runs out if it cannot
                log.exception("failover: the lease holder's step failed")
            self.stop_event.wait(max(0.0, started + self.step_interval() - fencing.boot_clock()))
        if self.held is not None:
            self.release("its lease holder stopped")

    def step_interval(self) -> float:
        """The renew interval; BUSY_STEP_SECONDS while a switchover or a promotion is under way."""
        busy = self._handing_over is not None or self._handover_to_me or self._promotion is not None
        return min(BUSY_STEP_SECONDS, self.f.renew_interval_seconds) if busy else self.f.renew_interval_seconds

    def stop(self, *_args) -> None:
        self.stop_event.set()


class LagPublisher:
    """Tells etcd, after each renewal, how far this box's replica is behind (`replica_key`; Patroni's
    leader keeps its WAL position there the same way), on a thread and an etcd client of its own: a
    put over a slow or lossy link waits out its timeout, and the renewal loop must not wait with it.
    A put that fails costs no orders: the standby sees the previous figure, one renewal older."""

    def __init__(self, settings: Settings, wall_clock: Callable[[], float]):
        self.settings, self.wall_clock = settings, wall_clock
        self.name = settings.failover.box_name
        self._epoch: int | None = None
        self._wake = threading.Event()
        self._thread: threading.Thread | None = None

    def publish(self, epoch: int) -> None:
        self._epoch = epoch
        self._wake.set()
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name="replica-lag", daemon=True)
            self._thread.start()

    def _run(self) -> None:
        f = self.settings.failover
        quorum = Quorum(f.etcd_endpoints, timeout=f.renew_interval_seconds)
        while True:
            self._wake.wait()
            self._wake.clear()
            shipped = _shipped_through(self.settings.home)
            if shipped is None:
                continue  # nothing replicates here: there is no standby copy to lose anything from
            now = self.wall_clock()
            value = {"holder": self.name, "epoch": self._epoch, "at": round(now, 3),
                     "shipped_through": round(shipped, 3), "lag_seconds": round(max(0.0, now - shipped), 3)}
            try:
                quorum.put(replica_key(self.settings), json.dumps(value))
            except Exception as e:  # noqa: BLE001 - the thread must live on: the next renewal tries again
                log.warning("failover: could not tell etcd how far the replica is (%s)", e)


def _shipped_through(home: Path | str) -> float | None:
    """When this box's replica last held every transaction Litestream had captured (wall clock), as
    the replication supervisor recorded it; 0.0 when it has shipped nothing yet, None when this box
    does not replicate. A supervisor that stopped or died leaves its last figure, so the lag grows."""
    try:
        state = json.loads((Path(home) / REPLICATION_STATE_FILE).read_text())
    except (OSError, ValueError):
        return None
    return float(state.get("shipped_through") or 0.0)


def _last_transactions_shipped(settings: Settings) -> bool:
    """This box's replication stopped (it stops once the box may not write, Litestream syncing and the
    shipper shipping what it had) with the replica holding every transaction Litestream captured."""
    from backup import replication
    facts = replication.facts(settings)
    if facts is None:
        return True  # nothing replicates: nothing to wait for
    state = replication.read_state(settings)
    if not state:
        return True  # it never ran: nothing was captured to ship
    return bool(state.get("stopped")) and facts["local_txid"] is not None \
        and (facts["replica_txid"] or 0) >= facts["local_txid"]


def run_until_signalled(settings: Settings) -> None:
    holder = LeaseHolder(settings)
    signal.signal(signal.SIGTERM, holder.stop)
    signal.signal(signal.SIGINT, holder.stop)
    holder.run()
