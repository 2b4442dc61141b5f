"""Continuous copy (low RPO): Litestream streams the SQLite WAL, and the appliance ships it, sealed,
to an SFTP or S3 replica.

The appliance configures, supervises and measures Litestream; Litestream captures the transactions
into a local outbox (a `file` replica), and backup/sealed_replica.py encrypts each file with the
backup key and ships it to the replica target (Litestream v0.5 cannot encrypt: see there).

- Config (config.py): `run/litestream.yml`, written from `[backup.replication]`: the database and
  its outbox. It holds no secret, and Litestream never talks to the network: the target's
  credentials (SSH key, pinned host key, S3 secret) are used by the shipper, through the backup targets.
- Supervision (supervisor.py): `Supervisor` runs `litestream replicate` as a child of
  appliance/processes.py's ChildSupervisor (restarted with exponential backoff when it dies, stopped
  with SIGTERM, then SIGKILL, on shutdown); its shipper thread ships the outbox every SHIP_SECONDS,
  retrying with backoff while the target is down, and once more after Litestream stopped. Exactly
  one supervisor runs per box: it holds an flock on `run/replication.lock`. The box's scheduler
  holder starts one (backup/jobs.py, stopped with the scheduler); `appliance replication run` runs
  one in its own process. Whichever gets the lock supervises; the other waits and takes over if the
  first one dies. A Litestream left behind by a supervisor killed with -9 is found by its pid file
  and stopped.
- Lag (state.py): the shipper knows the newest transaction id (TXID) the replica holds (what it
  shipped, checked against a listing every `probe_interval_seconds`). Litestream writes each
  captured transaction locally as an LTX file (`.<db>-litestream/ltx/0/<min>-<max>.ltx`, whose
  header carries the capture time in ms). The lag is `now - capture time of the oldest local
  transaction the replica was not known to hold when the state was last written`, and 0 when the
  replica held the newest one. So it is "seconds of committed writes that exist only on this box",
  blind to a commit Litestream has not captured yet (at most its 1 s WAL monitor interval). Clocks
  of the replica server are never used.
- Restore (restoring.py): the sealed files are downloaded and opened into a scratch file replica,
  `litestream restore -o` builds a file beside the destination from it, then the same integrity
  check and business counts as `appliance restore`, then one atomic rename.
"""
from __future__ import annotations

# Each name is imported from its module on first use (PEP 562), not here: the standby's follower uses
# a few functions of config.py, and importing restoring.py with them would load the restore code, the
# database layer and the models (peewee, psycopg2, zstandard: ~10 MB resident) into a process that
# runs all day on the standby (issue 12: the pair's extra memory; docs/failover.md "Memory").
_NAMES = {
    "config": ("CONFIG_FILE", "ReplicationError", "child_env", "config_text", "database_path", "describe_replica",
               "litestream_binary", "meta_dir", "outbox_dir", "replica_location", "replica_target", "write_config"),
    "restoring": ("ReplicaRestore", "restore", "verify"),
    "state": ("STATE_FILE", "LocalLtx", "facts", "local_ltx", "read_state"),
    "supervisor": ("LOCK_FILE", "LOG_FILE", "PID_FILE", "Supervisor"),
}
_MODULE_OF = {name: module for module, names in _NAMES.items() for name in names}

__all__ = sorted(_MODULE_OF)


def _module(which: str):
    # plain imports, not importlib: the layering check (tests/core) reads them
    if which == "config":
        from . import config as module
    elif which == "restoring":
        from . import restoring as module
    elif which == "state":
        from . import state as module
    else:
        from . import supervisor as module
    return module


def __getattr__(name: str):
    if name not in _MODULE_OF:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(_module(_MODULE_OF[name]), name)
    globals()[name] = value  # once: later lookups find it without coming here
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_MODULE_OF))
