"""The monitors' tables: check state, the state-change ledger, the alert outbox, acknowledgements,
silences, maintenance windows, trend samples and reported drill results. Times are naive UTC."""
from __future__ import annotations

from peewee import BooleanField, CharField, DateTimeField, FloatField, IntegerField, TextField

from appliance.models import BaseModel, utcnow

STATES = ("ok", "warn", "crit", "unknown")
# Prometheus value of each state (DESIGN §6: 0 ok, 1 warn, 2 crit); unknown gets its own value.
STATE_VALUES = {"ok": 0, "warn": 1, "crit": 2, "unknown": 3}


class CheckState(BaseModel):
    """One row per check: its confirmed state and the not-yet-confirmed state it is heading to."""
    check = CharField(max_length=64, unique=True)
    state = CharField(max_length=8, default="unknown")
    since = DateTimeField(default=utcnow)
    value = TextField(null=True)
    reason = TextField(default="")
    last_run_at = DateTimeField(null=True)
    last_result = CharField(max_length=8, null=True)
    # Flap damping: the differing state seen in a row and how many times.
    candidate = CharField(max_length=8, null=True)
    candidate_count = IntegerField(default=0)
    # Set when an alert for the current state went out; reminders count from it.
    notified_at = DateTimeField(null=True)
    acknowledged_at = DateTimeField(null=True)
    acknowledged_by = CharField(max_length=100, null=True)

    class Meta:
        table_name = "monitor_check_state"


class StateChange(BaseModel):
    """The ledger: every confirmed change, kept whether or not anyone was told."""
    check = CharField(max_length=64, index=True)
    at = DateTimeField(default=utcnow, index=True)
    from_state = CharField(max_length=8)
    to_state = CharField(max_length=8)
    value = TextField(null=True)
    reason = TextField(default="")
    # Why no notification went out, e.g. "silence #3" or "maintenance #1"; empty when one did.
    suppressed_by = CharField(max_length=64, default="")

    class Meta:
        table_name = "monitor_state_change"


# The outbox's channel for the shop's outbound webhooks (monitors/webhooks.py): its rows are events for
# other systems, not alerts, so the alert checks and metrics leave them out.
INTEGRATION_CHANNEL = "integration"
ALERT_KINDS = ("alert", "reminder", "recovery")  # monitors/engine.py


class Notification(BaseModel):
    """Outbox: one row per alert and channel, retried until delivered (never dropped)."""
    check = CharField(max_length=64, index=True)
    kind = CharField(max_length=16)  # alert | reminder | recovery
    channel = CharField(max_length=16)  # email | webhook
    target = TextField()  # recipients or URL
    payload = TextField()  # JSON
    created_at = DateTimeField(default=utcnow)
    attempts = IntegerField(default=0)
    next_attempt_at = DateTimeField(default=utcnow, index=True)
    delivered_at = DateTimeField(null=True, index=True)
    last_error = TextField(null=True)

    class Meta:
        table_name = "monitor_notification"

    @classmethod
    def undelivered_alert(cls):
        """The outbox's rows that are alerts still waiting: what the alert checks and metrics count.
        The outbox also delivers the shop's mail (receipts) and its webhooks' events; a customer's
        address that bounces is not an alert that could not reach IT."""
        return cls.delivered_at.is_null() & cls.kind.in_(ALERT_KINDS)


class Acknowledgement(BaseModel):
    """Someone took the problem on: reminders stop until the check changes state again."""
    check = CharField(max_length=64, index=True)
    state = CharField(max_length=8)
    at = DateTimeField(default=utcnow)
    by = CharField(max_length=100)
    note = TextField(default="")

    class Meta:
        table_name = "monitor_acknowledgement"


class Silence(BaseModel):
    """No notifications for a check (or '*' for all) between two times; the ledger still records."""
    check = CharField(max_length=64, index=True)
    starts_at = DateTimeField(default=utcnow)
    ends_at = DateTimeField(index=True)
    by = CharField(max_length=100)
    reason = TextField(default="")

    class Meta:
        table_name = "monitor_silence"


class MaintenanceWindow(BaseModel):
    """Planned work: no notifications, and uptime reports the time as planned, not as downtime."""
    starts_at = DateTimeField(index=True)
    ends_at = DateTimeField(index=True)
    checks = TextField(default="*")  # '*' or comma-separated check names
    by = CharField(max_length=100)
    reason = TextField(default="")

    def covers(self, check: str) -> bool:
        names = [n.strip() for n in self.checks.split(",")]
        return "*" in names or check in names

    class Meta:
        table_name = "monitor_maintenance"


class Sample(BaseModel):
    """Recent readings for trends (disk fill forecast), pruned after a few weeks."""
    series = CharField(max_length=200, index=True)
    at = DateTimeField(default=utcnow, index=True)
    value = FloatField()

    class Meta:
        table_name = "monitor_sample"


class DrillResult(BaseModel):
    """Restore drills as reported by the runbooks package (which may import monitors, not vice versa)."""
    runbook = CharField(max_length=100, index=True)
    at = DateTimeField(default=utcnow, index=True)
    succeeded = BooleanField()
    rto_seconds = FloatField(null=True)
    rpo_seconds = FloatField(null=True)
    note = TextField(default="")

    class Meta:
        table_name = "monitor_drill_result"


MODELS = [CheckState, StateChange, Notification, Acknowledgement, Silence, MaintenanceWindow, Sample, DrillResult]
