"""keepalived's track script: `python -m failover.holds` (APPLIANCE_HOME names the box's home).

Exit 0 only while this box holds the lease and its write permit is valid, or while it holds the
lease and applies the primary's last transactions before it writes (a promotion: its holder says so
in fence/holder.json, with the instant it stops counting on that lease); a box fenced in any other
way exits 1 with the reason, so it never keeps the shop address. Letting the address come during a
promotion moves it while the tail is applied instead of after (keepalived needs a track-script run
and VRRP's master-down interval, about 2 s, that a switchover otherwise spends with no box holding the
address); the address decides nothing about writes: the permit does, and it is still refused.

It reads the permit file and the holder's state only (no etcd request, no database) and imports only
appliance.fencing: about 0.05 s of CPU, where the whole `appliance` command line (`appliance failover
holds`, the same answer) registers every setting and operation first and took 0.6 s of CPU and over
2 s on a loaded 2-core box, past keepalived's `timeout 2` (the namespace rig, tests/failover/rig.py,
found it: the shop address never came up).
"""
from __future__ import annotations

import json
import os
import sys
from pathlib import Path

from appliance import fencing

HOLDER_STATE = Path("fence") / "holder.json"  # failover.holder.STATE_FILE (not imported: it loads etcd's client)


def promoting(home: Path | str, permit: fencing.Permit) -> bool:
    """This box's holder holds the lease of the permit's epoch and is applying the tail, and the
    instant it would stop writing on that lease (had it been writing) has not come."""
    try:
        state = json.loads((Path(home) / HOLDER_STATE).read_text())
    except (OSError, ValueError):
        return False
    return bool(state.get("promoting") and state.get("holding")) and state.get("epoch") == permit.epoch \
        and state.get("boot_id") == fencing.boot_id() and fencing.boot_clock() < float(state.get("fence_at") or 0)


def verdict(home: Path | str) -> tuple[bool, str]:
    """(may this box keep the shop address, the sentence that says why)."""
    permit = fencing.read_permit(home)
    if permit is None:
        return False, ("This box holds no lease: it has no write permit "
                       "(is failover enabled and `failover run` running?).")
    refusal = permit.refusal()
    if refusal and promoting(home, permit):
        return True, (f"This box holds the lease (epoch {permit.epoch}) and applies the primary's last "
                      f"transactions: it takes orders once they are in.")
    if refusal:
        return False, f"This box is fenced: {refusal.rstrip('.')}."
    return True, (f"{permit.holder} holds the lease (epoch {permit.epoch}) for "
                  f"{permit.until - fencing.boot_clock():.1f} s more.")


def main() -> int:
    home = os.environ.get("APPLIANCE_HOME") or "var"
    holds, said = verdict(home)
    print(said if holds else f"Error: {said}", file=sys.stdout if holds else sys.stderr)
    return 0 if holds else 1


if __name__ == "__main__":
    sys.exit(main())
