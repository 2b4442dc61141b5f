"""keepalived's track script: `python -m failover.holds` (APPLIANCE_HOME names the box's home).

Exit 0 only while this box holds the lease and its write permit is valid; a fenced box exits 1 with
the reason, so it never keeps the shop address. It reads the permit file only (no etcd request, no
database) and imports only appliance.fencing: about 0.05 s of CPU, where the whole `appliance` command
line (`appliance failover holds`, the same answer) registers every setting and operation first and
took 0.6 s of CPU and over 2 s on a loaded 2-core box, past keepalived's `timeout 2` (the namespace
rig, tests/failover/rig.py, found it: the shop address never came up).
"""
from __future__ import annotations

import os
import sys
from pathlib import Path

from appliance import fencing


def verdict(home: Path | str) -> tuple[bool, str]:
    """(may this box keep the shop address, the sentence that says why)."""
    permit = fencing.read_permit(home)
    if permit is None:
        return False, ("This box holds no lease: it has no write permit "
                       "(is failover enabled and `failover run` running?).")
    refusal = permit.refusal()
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
