"""PostgreSQL pairs (`[failover] engine = "patroni"`): Patroni, on the pair's etcd, elects the primary,
replicates synchronously and promotes the standby; the appliance configures it, asks it, and writes
through a multi-host `database.url` with `target_session_attrs=read-write` (libpq tries each host and
keeps the one that accepts writes), so it needs no lease of its own.

Why synchronous mode (Patroni's `synchronous_mode`, not strict): a COMMIT returns only once the
standby has the WAL, and Patroni promotes only the standby it named synchronous, so an acknowledged
order is never lost in a failover; if the standby is away the primary goes on alone (a shop keeps
selling) and no failover can happen until the standby has caught up again. "Away" is
`standby_timeout_seconds` (PostgreSQL's wal_sender_timeout) without an answer from it: until then a
COMMIT waits for it.

`config()` renders this box's Patroni YAML from the settings (`appliance failover patroni-config`);
`status()` reads Patroni's REST API in the shape of `control.status`; `switchover()` moves the
primary for maintenance (`failover promote --planned`, `failover demote`).
"""
from __future__ import annotations

import json
import os
import pwd
import time
import urllib.error
import urllib.request
from pathlib import Path
from urllib.parse import urlparse

import yaml

from appliance.config import Settings

REPLICATION_USER = "replicator"
SUPERUSER = "postgres"
TIMELINE_NOTE = "Patroni's timeline: it grows by one at every promotion"


class PatroniError(RuntimeError):
    """Patroni could not be reached or refused what was asked (one sentence)."""


def config(settings: Settings) -> dict:
    """This box's Patroni configuration (the passwords are read from their files)."""
    f = settings.failover
    p = f.patroni
    if not settings.database.url.startswith(("postgresql:", "postgres:")):
        raise PatroniError("failover.engine = \"patroni\" needs a PostgreSQL database.url (a multi-host URL with "
                           "target_session_attrs=read-write): Patroni replicates PostgreSQL, not SQLite.")
    scheme = {urlparse(url).scheme for url in f.etcd_endpoints}
    return {
        "scope": p.scope,
        "name": f.box_name,
        "restapi": {"listen": p.rest_api, "connect_address": p.rest_api},
        "etcd3": {"hosts": [urlparse(url).netloc for url in f.etcd_endpoints],
                  "protocol": "https" if scheme == {"https"} else "http"},
        "bootstrap": {
            "dcs": {
                "ttl": p.ttl_seconds, "loop_wait": p.loop_wait_seconds, "retry_timeout": p.retry_timeout_seconds,
                "synchronous_mode": True,
                "postgresql": {"use_pg_rewind": True, "use_slots": True,
                               "parameters": {"wal_level": "replica", "hot_standby": "on", "wal_log_hints": "on",
                                              "max_wal_senders": 5, "max_replication_slots": 5,
                                              "synchronous_commit": "on"}},
            },
            "initdb": [{"encoding": "UTF8"}, {"locale": "C"}, "data-checksums"],
        },
        "postgresql": {
            "listen": p.postgres_address,
            "connect_address": p.postgres_address,
            "data_dir": p.data_dir,
            "bin_dir": p.bin_dir or _newest_bin_dir(),
            "pgpass": str(Path(p.data_dir).parent / f".{p.scope}.pgpass"),
            "authentication": {
                "replication": {"username": REPLICATION_USER, "password": _secret(settings, p.replication_password_file)},
                "superuser": {"username": SUPERUSER, "password": _secret(settings, p.superuser_password_file)},
            },
            "pg_hba": ["local all all peer",
                       f"host replication {REPLICATION_USER} all scram-sha-256",
                       "host all all all scram-sha-256"],
            # local, not in bootstrap.dcs: a changed setting applies on `patroni-config` and a reload
            "parameters": {"unix_socket_directories": str(Path(p.data_dir).parent),
                           "wal_sender_timeout": f"{p.standby_timeout_seconds}s"},
        },
        "tags": {"nofailover": False, "noloadbalance": False, "clonefrom": False, "nosync": False},
    }


def write_config(settings: Settings, path: Path, owner: str | None = "postgres") -> Path:
    """Writes the YAML readable by its owner only (it holds the two passwords); as root, hands it to
    `owner`, the user Patroni (and PostgreSQL, which refuses root) runs as."""
    text = "# Written by `appliance failover patroni-config`: change appliance.toml, not this file.\n"
    text += yaml.safe_dump(config(settings), sort_keys=False)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as out:
        out.write(text)
    os.chmod(path, 0o600)
    if owner and os.geteuid() == 0:
        user = pwd.getpwnam(owner)
        os.chown(path, user.pw_uid, user.pw_gid)
    return path


def _secret(settings: Settings, file: str) -> str:
    path = settings.path(file)
    try:
        value = path.read_text().strip()
    except OSError as e:
        raise PatroniError(f"The Patroni password file {path} cannot be read ({e.strerror}): create it with one "
                           "random line, the same on both boxes.") from None
    if not value:
        raise PatroniError(f"The Patroni password file {path} is empty.")
    return value


def _newest_bin_dir() -> str:
    versions = sorted(Path("/usr/lib/postgresql").glob("*/bin"), key=lambda p: int(p.parent.name)
                      if p.parent.name.isdigit() else 0)
    if not versions:
        raise PatroniError("No PostgreSQL server programs under /usr/lib/postgresql: install postgresql, or set "
                           "failover.patroni.bin_dir.")
    return str(versions[-1])


# -- asking Patroni ------------------------------------------------------------------------------

def _rest_apis(settings: Settings) -> list[str]:
    p = settings.failover.patroni
    return [p.rest_api] + [a for a in p.members_rest_api if a != p.rest_api]


def _request(address: str, path: str, body: dict | None = None, timeout: float = 2.0) -> tuple[int, str]:
    request = urllib.request.Request(f"http://{address}{path}", method="POST" if body is not None else "GET",
                                     data=json.dumps(body).encode() if body is not None else None,
                                     headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as answer:
            return answer.status, answer.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode(errors="replace")


def cluster(settings: Settings, timeout: float = 2.0) -> tuple[dict, dict[str, str]]:
    """Patroni's view of the cluster (GET /cluster) from the first member that answers, and each
    REST API's reachability ("ok" or why not)."""
    reachable: dict[str, str] = {}
    found = None
    for address in _rest_apis(settings):
        try:
            code, text = _request(address, "/cluster", timeout=timeout)
            if code != 200:
                raise PatroniError(f"HTTP {code}")
            reachable[address] = "ok"
            found = found or json.loads(text)
        except (OSError, ValueError, PatroniError) as e:
            reachable[address] = f"unreachable: {getattr(e, 'reason', e)}"
    if found is None:
        raise PatroniError("No Patroni REST API answered (" + "; ".join(f"{a}: {s}" for a, s in reachable.items()) + ").")
    return found, reachable


def status(settings: Settings) -> dict:
    """`control.status`'s answer for a Patroni pair: the leader is the lease holder, the timeline the
    epoch, the synchronous standby's lag the standby lag."""
    me = settings.failover.box_name
    try:
        view, reachable = cluster(settings)
        error = None
    except PatroniError as e:
        view, reachable, error = {"members": []}, {}, str(e)
    members = view.get("members", [])
    leader = next((m for m in members if m.get("role") in ("leader", "standby_leader")), None)
    mine = next((m for m in members if m.get("name") == me), None)
    standby = next((m for m in members if m.get("role") in ("sync_standby", "replica")), None)
    role = ("primary" if mine and mine is leader else
            "standby" if mine else "not in the cluster")
    return {
        "enabled": settings.failover.enabled,
        "engine": "patroni",
        "box": me,
        "role": role,
        "epoch": leader.get("timeline") if leader else None,
        "epoch_note": TIMELINE_NOTE,
        "home_epoch": mine.get("timeline") if mine else None,
        "lease_holder": leader.get("name") if leader else None,
        "lease_epoch": leader.get("timeline") if leader else None,
        "lease_seconds_left": None,
        "lease_age_seconds": None,
        "renewed_seconds_ago": None,
        "fenced": not (mine and mine is leader),  # only the leader's PostgreSQL accepts writes
        "fenced_reason": None if mine and mine is leader else "PostgreSQL on this box is a standby (Patroni)",
        "holder_process": None,
        "holding": bool(mine and mine is leader),
        "members": reachable,
        "members_reachable": sum(1 for v in reachable.values() if v == "ok"),
        "quorum_error": error,
        "standby": ({"following": standby.get("state") in ("streaming", "running"), "synchronous":
                     standby.get("role") == "sync_standby", "name": standby.get("name"),
                     "lag_bytes": standby.get("lag") if isinstance(standby.get("lag"), int) else None,
                     "lag_seconds": None, "applied_txid": None, "newest_txid": None, "error": None}
                    if standby else None),
        "patroni_members": [{k: m.get(k) for k in ("name", "role", "state", "timeline", "lag", "host", "port")}
                            for m in members],
    }


def switchover(settings: Settings, candidate: str | None, sync_timeout: float = 30.0) -> str:
    """A planned move of the primary (POST /switchover): Patroni waits for the candidate to be in sync,
    so no acknowledged order is lost; `candidate` None lets Patroni pick the synchronous standby."""
    view, _ = cluster(settings)
    leader = next((m["name"] for m in view.get("members", []) if m.get("role") == "leader"), None)
    if leader is None:
        raise PatroniError("The Patroni cluster has no leader to hand over from; Patroni promotes the synchronous "
                           "standby by itself once the old leader's key expires.")
    if candidate == leader:
        return f"{leader} is already the primary (timeline {_timeline(view, leader)})."
    _wait_for_sync_standby(settings, candidate, sync_timeout)
    body = {"leader": leader, **({"candidate": candidate} if candidate else {})}
    last = ""
    for address in _rest_apis(settings):
        try:
            code, text = _request(address, "/switchover", body, timeout=30)
        except OSError as e:
            last = f"{address}: {e}"
            continue
        if code == 200:
            new = _wait_for_writable_primary(settings, leader)
            return f"Patroni switched the primary over from {leader}: {text.strip()} ({new} accepts writes)."
        raise PatroniError(f"Patroni refused the switchover (HTTP {code}): {text.strip()}")
    raise PatroniError(f"No Patroni REST API took the switchover ({last}).")


def _wait_for_sync_standby(settings: Settings, candidate: str | None, timeout: float) -> None:
    """Patroni hands over only to the synchronous standby (anything else could lose acknowledged
    orders) and answers 412 otherwise. A standby that has just rejoined (a switchover back, a box
    rebooted for maintenance) streams for a moment before the primary names it synchronous: the
    operator asked for a handover, so wait for it rather than refuse."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            members = cluster(settings, timeout=1.0)[0].get("members", [])
        except PatroniError:
            members = []
        syncs = [m["name"] for m in members if m.get("role") == "sync_standby"]
        if (candidate in syncs) if candidate else syncs:
            return
        if time.monotonic() >= deadline:
            break
        time.sleep(0.2)
    who = f"{candidate} is not" if candidate else "No member is"
    roles = ", ".join(f"{m.get('name')} {m.get('role')} ({m.get('state')})" for m in members) or "no member answered"
    raise PatroniError(f"{who} the synchronous standby after {timeout:.0f} s ({roles}): Patroni hands over only "
                       "to a standby that has every acknowledged transaction. See `appliance failover status`.")


def _wait_for_writable_primary(settings: Settings, old: str, timeout: float = 30.0) -> str:
    """The new primary's name once its PostgreSQL accepts writes (keepalived's check passes there).
    Patroni answers the switchover when the new leader holds the key, which may be before its
    PostgreSQL has left recovery: whatever the caller writes next (the operation's own record, through
    the multi-host URL) would find no writable host."""
    from .holds import patroni_verdict
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            view, _ = cluster(settings, timeout=1.0)
        except PatroniError:
            view = {}
        for member in view.get("members", []):
            if member.get("role") == "leader" and member.get("name") != old:
                address = urlparse(member.get("api_url", "")).netloc
                if address and patroni_verdict(address)[0]:
                    return member["name"]
        time.sleep(0.2)
    raise PatroniError(f"Patroni took the switchover from {old}, but no other member's PostgreSQL accepted writes "
                       f"within {timeout:.0f} s: see `appliance failover status`.")


def _timeline(view: dict, name: str):
    return next((m.get("timeline") for m in view.get("members", []) if m.get("name") == name), None)
