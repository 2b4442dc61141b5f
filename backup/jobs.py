"""The backup package's scheduled jobs: `backup.run`, `backup.verify`, `backup.prune` (retention)
and, with replication, `replication.verify` on their cron schedules, each started as its registered
operation (recorded in the operation ledger, run in a child process at low CPU and I/O priority),
never two in the same second (appliance/scheduler.py `background_starts`), plus the Litestream
supervisor."""
from __future__ import annotations

import logging
from datetime import timedelta

from appliance.scheduler import not_the_primary, schedule_operation

log = logging.getLogger(__name__)

# A run the schedule wanted while the box was off starts this long after the scheduler, so the box
# serves first; verify after the backup, so a new box verifies its first backup; retention after
# both. No two alike: catch-ups after a restart fall due apart (and start apart: background_starts).
MISSED_RUN_DELAY = {"backup.run": timedelta(minutes=1), "backup.verify": timedelta(minutes=5),
                    "replication.verify": timedelta(minutes=6), "backup.prune": timedelta(minutes=10)}


def register(scheduler, settings) -> list[str]:
    """Adds the scheduled operations; returns their job ids (the operation names).

    The scheduler lives in serve's background process; a child process keeps a long backup's memory
    and CPU, and verify's temporary rebinding of models to a scratch database, away from the
    scheduler's other jobs (the monitors, the replica shipper).
    """
    jobs = scheduled_jobs(settings)
    for name, params, cron in jobs:
        schedule_operation(scheduler, settings, name, params, cron, MISSED_RUN_DELAY[name],
                           skip_when=lambda: not_the_primary(settings))
    _supervise_replication(scheduler, settings)
    return [name for name, _, _ in jobs]


def scheduled_jobs(settings) -> list[tuple[str, dict, str]]:
    """(operation, parameters, cron expression) of each scheduled job of the backup package."""
    jobs = [("backup.run", {}, settings.backup.schedule),
            ("backup.verify", {"sample": settings.backup.verify_sample}, settings.backup.verify_schedule),
            ("backup.prune", {}, settings.backup.prune_schedule)]
    if _replicating(settings):
        jobs.append(("replication.verify", {}, settings.backup.replication.verify_schedule))
    return jobs


def _replicating(settings) -> bool:
    return settings.backup.replication.enabled and settings.database.url.startswith("sqlite:")


def _supervise_replication(scheduler, settings) -> None:
    """The scheduler holder (one per box) also supervises Litestream, on its own thread, and stops it
    when the scheduler shuts down. If `appliance replication run` already supervises it, this one
    waits for its lock and takes over only if that process dies. On a box of a pair it runs only
    while the box may write (`ReplicatingWhileWriting`)."""
    if not _replicating(settings):
        return
    from apscheduler.events import EVENT_SCHEDULER_SHUTDOWN

    replicating = ReplicatingWhileWriting(settings)
    replicating.check()
    scheduler.add_job(replicating.check, "interval", seconds=PERMIT_CHECK_SECONDS, id="replication.permit",
                      replace_existing=True, max_instances=1, coalesce=True)
    scheduler.add_listener(lambda event: replicating.stop(), EVENT_SCHEDULER_SHUTDOWN)


# How often the scheduler looks at the write permit (a small file) to stop or start replication. A
# planned switchover waits for this box's replication to stop (its Litestream syncing, the shipper
# shipping the last files) before the lease moves: every second of this interval was a second of it.
PERMIT_CHECK_SECONDS = 0.5


class ReplicatingWhileWriting:
    """Litestream and the shipper run only while this box may write (appliance/fencing.py; always
    without failover). A standby ships nothing: the replica location is shared with its primary,
    and a shipper removes there what its own outbox never held. A fenced primary stops too, so it
    never fights the new primary's shipper over the same files."""

    def __init__(self, settings):
        self.settings = settings
        self.supervisor = None
        self.unstartable = False  # its configuration is refused: said once, not every check

    def check(self) -> None:
        from appliance import fencing

        from .replication import ReplicationError, Supervisor
        permit = fencing.read_permit(self.settings.home)
        may_write = permit is None or permit.refusal() is None
        if may_write and self.supervisor is None and not self.unstartable:
            try:
                self.supervisor = Supervisor(self.settings).start()
            except ReplicationError as e:
                self.unstartable = True
                log.warning("continuous replication not started: %s", e.message)
        elif not may_write and self.supervisor is not None:
            log.warning("this box may not write (%s): its replication stops until it may", permit.refusal())
            self.stop()

    def stop(self) -> None:
        supervisor, self.supervisor = self.supervisor, None
        if supervisor is not None:
            supervisor.stop()
