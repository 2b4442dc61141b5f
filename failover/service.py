"""The pair's two long-running processes without the `appliance` command line (their systemd units):

    python -m failover.service run      the lease holder (`appliance failover run`), on both boxes
    python -m failover.service follow   the standby's follower (`appliance failover follow`)

APPLIANCE_HOME names the box's home. Same checks, same process, same exits as the `appliance`
commands (cli/failover_cmd.py calls the functions below), but lean: the command line registers every
package's settings and operations and imports click, peewee and the web's models before it runs a
command, ~20 MB more resident in each of these processes, which run all day beside `appliance serve`
(issue 12: the pair's extra memory per box). Only the [failover] and [backup] sections are read and
validated here: `appliance serve` validates the whole file.
"""
from __future__ import annotations

import logging
import signal
import sys

from appliance import config


class Refused(Exception):
    """This box cannot run the process: the sentence says why (the command line prints it as its error)."""


def load_settings(home=None) -> config.Settings:
    """[failover] and [backup] (the follower and a promotion need the replica's target and the key)."""
    from backup.settings import register as register_backup
    from failover.settings import register as register_failover
    register_backup(), register_failover()  # (again, in `appliance`: its owner may)
    return config.load(home, unregistered_sections="leave")


def checked(settings: config.Settings, what: str) -> config.Settings:
    """`appliance failover run|follow`'s checks before they start, in their order."""
    if not settings.failover.enabled:
        raise Refused("Failover is not enabled on this box: set [failover] enabled = true (docs/failover.md).")
    from failover.fence import require_permit
    require_permit(settings.home)  # fail closed until the lease holder has run
    if settings.failover.engine != "lease":
        raise Refused(f"`failover {what}` is for SQLite pairs: on this {settings.failover.engine} pair "
                      "Patroni elects the primary and keeps the standby (`failover patroni-config`).")
    if what == "follow" and not settings.backup.replication.target:
        raise Refused("A standby follows the primary's replica: set [backup.replication] target to the "
                      "target the primary replicates to (both boxes share the [backup] section and key).")
    return settings


def run(settings: config.Settings) -> None:
    """Holds (or waits for) the leader lease until SIGTERM or SIGINT."""
    from failover.holder import run_until_signalled
    _log_warnings()
    run_until_signalled(checked(settings, "run"))


def follow(settings: config.Settings) -> None:
    """Keeps the standby copy current until SIGTERM or SIGINT (or until this box may write)."""
    _without_invoke()
    from failover.standby import Follower
    _log_warnings()
    follower = Follower(checked(settings, "follow"))
    signal.signal(signal.SIGTERM, lambda *_: follower.stop())
    signal.signal(signal.SIGINT, lambda *_: follower.stop())
    follower.run()


def _without_invoke() -> None:
    """paramiko (the SFTP target's) imports invoke, and with it unittest, asyncio and yaml (~5 MB
    resident), only to run an ssh_config's `Match exec`; it does without it where invoke is not
    installed. The follower never reads an ssh_config (over `ssh`: -F /dev/null; over paramiko's own
    transport: the target's key and pinned host key), so it lets paramiko do without it here too."""
    sys.modules.setdefault("invoke", None)  # None: `import invoke` raises ImportError


def _log_warnings() -> None:
    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(levelname)s %(message)s")


PROCESSES = {"run": run, "follow": follow}


def main(argv: list[str]) -> int:
    if len(argv) != 1 or argv[0] not in PROCESSES:
        print("usage: python -m failover.service run|follow (APPLIANCE_HOME names the box's home)", file=sys.stderr)
        return 2
    try:
        PROCESSES[argv[0]](load_settings())
    except (Refused, config.ConfigError) as e:
        print(f"Error: {e}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
