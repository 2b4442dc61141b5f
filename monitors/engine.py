"""The check-state engine: runs checks, damps flapping, records every state change in the ledger,
and queues notifications (alerts, reminders, recovery notices) unless a silence or a maintenance
window covers the check. Every function takes `now` so tests and reports can replay time."""
from __future__ import annotations

import json
import logging
import socket
from datetime import datetime, timedelta

from appliance import audit
from appliance.config import Settings
from appliance.db import write_transaction
from appliance.models import utcnow

from .checks import Check, CheckConfig, CheckContext, Result, catalog, config_for, unknown
from .models import Acknowledgement, CheckState, MaintenanceWindow, Notification, Silence, StateChange

log = logging.getLogger(__name__)

PROBLEM_STATES = ("warn", "crit", "unknown")


def run_check(name: str, settings: Settings, now: datetime | None = None) -> CheckState:
    check = catalog()[name]
    config = config_for(check, settings)
    now = now or utcnow()
    return record(name, evaluate(check, config, settings, now), settings, config, now)


def run_all(settings: Settings, now: datetime | None = None) -> list[CheckState]:
    from .checks import enabled_checks
    return [run_check(check.name, settings, now) for check, _ in enabled_checks(settings)]


def evaluate(check: Check, config: CheckConfig, settings: Settings, now: datetime) -> Result:
    """A check that raises reports unknown with the error: a broken check must not look healthy."""
    try:
        return check.run(CheckContext(settings, config, now))
    except Exception as e:  # noqa: BLE001 - any failure of a check is its result
        log.warning("check %s failed: %s", check.name, e)
        return unknown(f"check failed: {type(e).__name__}: {' '.join(str(e).split())[:300]}")


def record(name: str, result: Result, settings: Settings, config: CheckConfig,
           now: datetime | None = None) -> CheckState:
    """Applies one result: the state changes only after `confirm_count` agreeing results in a row."""
    now = now or utcnow()
    with write_transaction():
        row = CheckState.get_or_none(CheckState.check == name) or CheckState(check=name, since=now)
        row.value = None if result.value is None else str(result.value)
        row.reason = result.reason
        row.last_run_at = now
        row.last_result = result.state
        if result.state == row.state:
            row.candidate, row.candidate_count = None, 0
        else:
            row.candidate_count = row.candidate_count + 1 if row.candidate == result.state else 1
            row.candidate = result.state
            if row.candidate_count >= config.confirm_count:
                _change_state(row, result, settings, config, now)
        row.save()
    return row


def _change_state(row: CheckState, result: Result, settings: Settings, config: CheckConfig, now: datetime) -> None:
    old, new = row.state, result.state
    suppressed_by = suppression(row.check, now)
    StateChange.create(check=row.check, at=now, from_state=old, to_state=new, value=row.value,
                       reason=result.reason, suppressed_by=suppressed_by or "")
    was_told = row.notified_at is not None
    row.state, row.since = new, now
    row.candidate, row.candidate_count = None, 0
    row.acknowledged_at = row.acknowledged_by = None
    row.notified_at = None
    kind = "recovery" if new == "ok" and was_told else "alert" if new in PROBLEM_STATES else None
    if kind and not suppressed_by:
        enqueue(row, kind, settings, config, now, previous=old)
        row.notified_at = now if kind == "alert" else None


def suppression(check: str, now: datetime) -> str | None:
    """Why notifications for `check` are held back at `now` (a silence or maintenance), or None."""
    silence = (Silence.select().where((Silence.check.in_([check, "*"])) & (Silence.starts_at <= now)
                                      & (Silence.ends_at > now)).first())
    if silence:
        return f"silence #{silence.id}"
    window = maintenance_at(check, now)
    return f"maintenance #{window.id}" if window else None


def maintenance_at(check: str, now: datetime) -> MaintenanceWindow | None:
    windows = MaintenanceWindow.select().where((MaintenanceWindow.starts_at <= now) & (MaintenanceWindow.ends_at > now))
    return next((w for w in windows if w.covers(check)), None)


def send_reminders(settings: Settings, now: datetime | None = None) -> int:
    """Repeats the alert of every unacknowledged problem; also the first alert for a problem that
    started under a silence or maintenance that has since ended."""
    now = now or utcnow()
    due_before = now - timedelta(minutes=settings.monitors.reminder_minutes)
    sent = 0
    checks = catalog()
    problems = (CheckState.select().where(CheckState.state.in_(PROBLEM_STATES) & CheckState.acknowledged_at.is_null()))
    for row in problems:
        if row.notified_at is not None and row.notified_at > due_before:
            continue
        if row.notified_at is None and not _became_a_problem(row):
            continue  # unknown since the check first ran: nothing was ever fine, nothing to report
        if row.check not in checks or suppression(row.check, now):
            continue
        with write_transaction():
            enqueue(row, "reminder" if row.notified_at else "alert", settings,
                    config_for(checks[row.check], settings), now, previous=None)
            row.notified_at = now
            row.save()
        sent += 1
    return sent


def _became_a_problem(row: CheckState) -> bool:
    return row.state != "unknown" or StateChange.select().where(
        (StateChange.check == row.check) & (StateChange.to_state == "unknown")).exists()


def acknowledge(check: str, by: str, note: str = "", now: datetime | None = None) -> Acknowledgement:
    """Stops reminders for the check's current problem; audited, whoever calls it (CLI or web)."""
    now = now or utcnow()
    with write_transaction():
        row = CheckState.get(CheckState.check == check)
        row.acknowledged_at, row.acknowledged_by = now, by
        row.save()
        ack = Acknowledgement.create(check=check, state=row.state, at=now, by=by, note=note)
        audit.record(by, "monitors.acknowledge", "check", check, after={"state": ack.state, "note": note})
        return ack


def silence(check: str, until: datetime, by: str, reason: str = "", now: datetime | None = None) -> Silence:
    starts = now or utcnow()
    with write_transaction():
        row = Silence.create(check=check, starts_at=starts, ends_at=until, by=by, reason=reason)
        audit.record(by, "monitors.silence", "silence", row.id,
                     after={"check": check, "starts_at": starts, "ends_at": until, "reason": reason})
        return row


def plan_maintenance(starts_at: datetime, ends_at: datetime, by: str, reason: str = "",
                     checks: str = "*") -> MaintenanceWindow:
    if ends_at <= starts_at:
        raise ValueError("a maintenance window must end after it starts")
    with write_transaction():
        window = MaintenanceWindow.create(starts_at=starts_at, ends_at=ends_at, by=by, reason=reason, checks=checks)
        audit.record(by, "monitors.maintenance", "maintenance", window.id,
                     after={"starts_at": starts_at, "ends_at": ends_at, "checks": checks, "reason": reason})
        return window


def box_name(settings: Settings) -> str:
    return settings.monitors.box_name or socket.gethostname()


def runbook_base_url(settings: Settings) -> str:
    """Where this box's runbook pages are read: the configured base, else the box's own /ops/runbooks
    at its host name and configured port (what a person on the shop's network can open)."""
    configured = settings.monitors.runbook_base_url.rstrip("/")
    return configured or f"http://{socket.getfqdn()}:{settings.server.port}/ops/runbooks"


def runbook_link(settings: Settings, runbook: str) -> str:
    return f"{runbook_base_url(settings)}/{runbook}"


# Beside the backups on every target, put there after each backup (runbooks/export.py writes it): the
# copy to read when the box itself is dead.
OFFLINE_RUNBOOK_FOLDER = "runbooks"
OFFLINE_RUNBOOK_PATH = OFFLINE_RUNBOOK_FOLDER + "/{runbook}.html"


def alert_payload(row: CheckState, kind: str, settings: Settings, config: CheckConfig, now: datetime,
                  previous: str | None) -> dict:
    box = box_name(settings)
    word = "RECOVERED" if kind == "recovery" else row.state.upper()
    summary = f"[{box}] {word} {row.check}: {row.reason}"
    if kind != "recovery":
        summary += f" (runbook: {config.runbook})"
    return {
        "box": box, "check": row.check, "kind": kind, "state": row.state, "previous": previous,
        "since": row.since.isoformat() + "Z", "at": now.isoformat() + "Z", "value": row.value,
        "reason": row.reason, "runbook": config.runbook, "runbook_link": runbook_link(settings, config.runbook),
        "runbook_offline": OFFLINE_RUNBOOK_PATH.format(runbook=config.runbook),
        "summary": summary,
    }


def enqueue(row: CheckState, kind: str, settings: Settings, config: CheckConfig, now: datetime,
            previous: str | None) -> list[Notification]:
    """One outbox row per channel; `notify.deliver_due` sends them and retries failures."""
    payload = json.dumps(alert_payload(row, kind, settings, config, now, previous))
    targets = []
    smtp = settings.monitors.smtp
    if smtp.host and smtp.to:
        targets.append(("email", ", ".join(smtp.to)))
    targets += [("webhook", url) for url in settings.monitors.webhook_urls]
    return [Notification.create(check=row.check, kind=kind, channel=channel, target=target, payload=payload,
                                created_at=now, next_attempt_at=now) for channel, target in targets]


def prune(settings: Settings, now: datetime | None = None) -> None:
    """Forgets old history: delivered alerts and state changes past `history_days`, samples past a few weeks."""
    from .models import Sample
    now = now or utcnow()
    keep_from = now - timedelta(days=settings.monitors.history_days)
    Notification.delete().where(Notification.delivered_at < keep_from).execute()
    StateChange.delete().where(StateChange.at < keep_from).execute()
    Silence.delete().where(Silence.ends_at < keep_from).execute()
    Sample.delete().where(Sample.at < now - timedelta(days=21)).execute()
