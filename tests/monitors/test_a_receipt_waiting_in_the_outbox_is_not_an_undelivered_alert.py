"""The outbox also delivers the shop's mail: a receipt to a customer whose mail server is down waits
there like an alert, but it is not an alert that cannot reach IT. The alert_delivery check (runbook
"alerts-undelivered") and appliance_alerts_undelivered count alerts only; an alert that waits is
still counted."""
from __future__ import annotations

from datetime import timedelta
from email.message import EmailMessage

from monitors import notify
from monitors.checks import CheckContext, config_for, meta
from monitors.metrics import ApplianceCollector
from monitors.models import Notification


def undelivered_metric(settings) -> float:
    for family in ApplianceCollector(settings).collect():
        if family.name == "appliance_alerts_undelivered":
            return family.samples[0].value
    raise AssertionError("no appliance_alerts_undelivered")


def run_check(settings, now):
    (check,) = meta.CHECKS
    return check.run(CheckContext(settings, config_for(check, settings), now))


def test_a_waiting_receipt_leaves_the_check_ok_and_a_waiting_alert_does_not(db, settings, calendar_now):
    now = calendar_now.replace(tzinfo=None)
    receipt = EmailMessage()
    receipt["To"], receipt["Subject"] = "ana@customer.example", "Your receipt"
    receipt.set_content("Thank you")
    queued = notify.queue_mail(receipt, check="receipt:1042", kind="receipt")
    Notification.update(created_at=now - timedelta(hours=2), last_error="mail server down").where(
        Notification.id == queued.id).execute()

    result = run_check(settings, now)
    assert (result.state, result.reason) == ("ok", "every alert delivered")
    assert undelivered_metric(settings) == 0

    Notification.create(check="disk_free", kind="alert", channel="email", target="it@shop.example", payload="{}",
                        created_at=now - timedelta(hours=3))
    result = run_check(settings, now)
    assert result.state == "crit" and result.reason.startswith("1 alert(s) undelivered, oldest 180 min")
    assert "mail server down" not in result.reason  # the receipt's error is not the alert's
    assert undelivered_metric(settings) == 1
