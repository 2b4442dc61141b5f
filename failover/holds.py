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

On a PostgreSQL pair (`[failover] engine = "patroni"`) there is no permit: Patroni decides. Exit 0
only while this box's Patroni answers its REST API's `GET /primary` with 200: it holds the leader key
(vip-manager, Patroni's own address mover, follows the same key). A replica, a Patroni that lost or
released the key, or one that does not answer within a second exits 1 with the reason. While the
leader's PostgreSQL is still promoting, or stopping in a planned switchover, the check passes: the
address stays with the key, so a switchover moves it from box to box after the key, and never leaves
the tills a moment with no box answering (their SYNs would be lost for seconds, measured by the rig);
both boxes' `serve` write through the multi-host URL to whichever PostgreSQL accepts writes, so the
address decides nothing about writes. The scheduled jobs ask more (`patroni_verdict`): a writable
primary. The engine and the REST API's address are read from appliance.toml with tomllib (no
settings model: pydantic alone costs more than the check).
"""
from __future__ import annotations

import http.client
import json
import os
import sys
import tomllib
from pathlib import Path

from appliance import fencing

HOLDER_STATE = Path("fence") / "holder.json"  # failover.holder.STATE_FILE (not imported: it loads etcd's client)
CONFIG_FILE = "appliance.toml"  # appliance.config.CONFIG_FILE (not imported: it loads pydantic)
PATRONI_REST_API = "127.0.0.1:8008"  # failover.settings.PatroniSettings.rest_api's default
PATRONI_TIMEOUT = 1.0  # keepalived counts a check slower than its `timeout 2` as a failure anyway


def promoting(home: Path | str, permit: fencing.Permit) -> bool:
    """This box's holder holds the lease of the permit's epoch and is applying the tail, and the
    instant it would stop writing on that lease (had it been writing) has not come."""
    try:
        state = json.loads((Path(home) / HOLDER_STATE).read_text())
    except (OSError, ValueError):
        return False
    return bool(state.get("promoting") and state.get("holding")) and state.get("epoch") == permit.epoch \
        and state.get("boot_id") == fencing.boot_id() and fencing.boot_clock() < float(state.get("fence_at") or 0)


def patroni_rest_api(home: Path | str, environ: dict | None = None) -> str | None:
    """This box's Patroni REST API (host:port) when the pair runs under Patroni, else None. The
    engine may be overridden from the environment as `appliance.config.load` allows."""
    environ = os.environ if environ is None else environ
    try:
        failover = tomllib.loads((Path(home) / CONFIG_FILE).read_text()).get("failover", {})
    except (OSError, tomllib.TOMLDecodeError):
        return None  # no readable settings: the permit (absent, so no address) answers
    if environ.get("APPLIANCE_FAILOVER_ENGINE", failover.get("engine", "lease")) != "patroni":
        return None
    return failover.get("patroni", {}).get("rest_api", PATRONI_REST_API)


def patroni_verdict(rest_api: str, timeout: float = PATRONI_TIMEOUT) -> tuple[bool, str]:
    """Is this box's Patroni the primary, with its PostgreSQL accepting writes? `GET /primary` is 200
    only while Patroni holds the leader key; the role in its answer comes from pg_is_in_recovery(),
    so a leader still promoting (or demoting) its PostgreSQL does not count yet."""
    return _judged(*_patroni_primary(rest_api, timeout), key_is_enough=False)


def patroni_address_verdict(rest_api: str, timeout: float = PATRONI_TIMEOUT) -> tuple[bool, str]:
    """May this box keep the shop address: does its Patroni hold the leader key (module docstring)?"""
    return _judged(*_patroni_primary(rest_api, timeout), key_is_enough=True)


def _judged(code: int | None, state: dict | str, key_is_enough: bool) -> tuple[bool, str]:
    if isinstance(state, str):
        return False, state
    role, running, timeline = state.get("role"), state.get("state"), state.get("timeline")
    if code == 200 and role in ("primary", "master") and running == "running":
        return True, (f"This box's Patroni is the primary (timeline {timeline}) and its PostgreSQL accepts "
                      "writes.")
    if code == 200 and key_is_enough:
        return True, (f"This box's Patroni holds the leader key while its PostgreSQL is {running} (role "
                      f"{role}): the shop address stays with the key.")
    return False, (f"This box's Patroni is not the primary with a writable PostgreSQL (HTTP {code}, "
                   f"role {role}, state {running}).")


def _patroni_primary(rest_api: str, timeout: float) -> tuple[int | None, dict | str]:
    """Patroni's `GET /primary`: (HTTP code, its JSON answer), or (None, why it could not be asked)."""
    host, _, port = rest_api.rpartition(":")
    connection = http.client.HTTPConnection(host, int(port), timeout=timeout)
    try:
        connection.request("GET", "/primary")
        answer = connection.getresponse()
        code, body = answer.status, answer.read()
    except (OSError, http.client.HTTPException) as e:
        return None, (f"This box's Patroni does not answer at {rest_api} ({e or type(e).__name__}): "
                      "a box whose Patroni cannot be asked never keeps the shop address.")
    finally:
        connection.close()
    try:
        return code, json.loads(body)
    except ValueError:
        return code, {}


def verdict(home: Path | str) -> tuple[bool, str]:
    """(may this box keep the shop address, the sentence that says why)."""
    rest_api = patroni_rest_api(home)
    if rest_api is not None:
        return patroni_address_verdict(rest_api)
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
