"""What the supervisor records (`run/replication.json`) and what Litestream keeps on this box, read
into the facts that status and monitors show: is it running, and the lag in seconds."""
from __future__ import annotations

import json
import os
import struct
import time
from dataclasses import dataclass
from pathlib import Path

from appliance.config import Settings
from appliance.processes import ProcessRecord

from .. import sealed_replica
from .config import ReplicationError, database_path, describe_replica, meta_dir

STATE_FILE = "run/replication.json"
STATE_GRACE_SECONDS = 30  # the state may be this late (a slow listing) before the supervisor counts as gone


@dataclass(frozen=True)
class LocalLtx:
    min_txid: int
    max_txid: int
    captured_at: float  # epoch seconds, from the LTX header (local clock)


def local_ltx(db_path: Path) -> list[LocalLtx]:
    """Level-0 LTX files Litestream made from the WAL on this box, oldest first."""
    folder = meta_dir(db_path) / "ltx" / "0"
    found = []
    try:
        names = os.listdir(folder)
    except OSError:
        return []
    for name in names:
        if not name.endswith(".ltx"):
            continue
        try:
            lo, hi = (int(part, 16) for part in name[:-4].split("-"))
            captured_at = sealed_replica.ltx_time(folder / name)
        except (OSError, ValueError, struct.error):
            continue  # being written or removed right now
        found.append(LocalLtx(lo, hi, captured_at))
    return sorted(found, key=lambda x: x.max_txid)


def write_state(settings: Settings, state: dict) -> None:
    """Whole or not at all; the caller keeps its own threads from writing at the same time."""
    path = settings.path(STATE_FILE)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + f".{os.getpid()}.tmp")
    tmp.write_text(json.dumps(state, indent=1))
    os.replace(tmp, path)


def read_state(settings: Settings) -> dict | None:
    try:
        return json.loads(settings.path(STATE_FILE).read_text())
    except (OSError, ValueError):
        return None


def _still_running(state: dict, who: str) -> bool:
    """The process the state names (`<who>_pid`, `<who>_started`) still runs: not a reused pid."""
    pid, started = state.get(f"{who}_pid"), state.get(f"{who}_started")
    return bool(pid and started is not None and ProcessRecord(pid, started).running())


def facts(settings: Settings, now: float | None = None) -> dict | None:
    """`{"running", "lag_seconds", "reason", ...}` as monitors/recovery_facts.py reads it; None when off."""
    r = settings.backup.replication
    if not r.enabled:
        return None
    now = time.time() if now is None else now
    try:
        db_path = database_path(settings)
        replica = describe_replica(settings)
    except ReplicationError as e:
        return {"running": False, "lag_seconds": None, "reason": e.message}
    state = read_state(settings) or {}
    local = local_ltx(db_path)
    out = {"running": False, "lag_seconds": None, "reason": "", "replica": replica,
           "local_txid": local[-1].max_txid if local else None,
           "replica_txid": state.get("replica_txid"), "replica_probed_at": state.get("replica_probed_at"),
           "restarts": state.get("restarts", 0), "litestream_pid": state.get("litestream_pid")}
    stale_after = 3 * r.probe_interval_seconds + STATE_GRACE_SECONDS
    if not state:
        out["reason"] = "not started: `appliance serve` (its scheduler) or `appliance replication run` supervises it"
        return out
    if state.get("stopped") or not _still_running(state, "supervisor"):
        out["reason"] = "the replication supervisor is not running"
        return out
    if now - (state.get("updated_at") or 0) > stale_after:
        out["reason"] = f"the replication supervisor has not reported for {now - state['updated_at']:.0f} s"
        return out
    if not _still_running(state, "litestream"):
        last = (state.get("last_exit") or {}).get("reason") or "not started yet"
        out["reason"] = f"litestream is down, restarting ({last})"
        return out
    out["running"] = True
    known = state.get("replica_txid")
    if not local:  # Litestream snapshots any database when it starts: nothing local means not captured yet
        out["reason"] = "Litestream has not captured the database yet"
        return out
    if known is None and not state.get("shipping_error"):
        out["reason"] = "nothing shipped to the replica yet"
        return out
    pending = [x for x in local if x.max_txid > (known or 0)]  # never shipped, and failing: all of it is only here
    out["lag_seconds"] = round(max(0.0, now - pending[0].captured_at), 3) if pending else 0.0
    shipping_note = f"; shipping fails: {state['shipping_error']}" if state.get("shipping_error") else ""
    out["reason"] = (f"{len(pending)} local transaction(s) not yet known on the replica" if pending
                     else "the replica holds every captured transaction") + shipping_note
    return out
