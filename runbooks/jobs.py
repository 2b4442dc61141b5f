"""The runbooks package's scheduled job: restore drills on `[runbooks] drill_schedule`, as the
registered `runbooks.drill` operation (a child process at low priority, recorded in the ledger).
A failed drill, or none for too long, turns the monitors' drill_age check (and its alert) red. On a
pair only the primary drills (its result is recorded in the shop's database)."""
from __future__ import annotations

from datetime import timedelta

from appliance.scheduler import not_the_primary, schedule_operation

MISSED_DRILL_DELAY = timedelta(minutes=30)  # after the backups' catch-ups: a drill restores one


def register(scheduler, settings) -> list[str]:
    if not settings.runbooks.drill_enabled or not settings.backup.targets:
        return []
    return [schedule_operation(scheduler, settings, "runbooks.drill", {}, settings.runbooks.drill_schedule,
                               MISSED_DRILL_DELAY, skip_when=lambda: not_the_primary(settings))]
