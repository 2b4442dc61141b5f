"""Alerts reach a real SMTP server on loopback (STARTTLS, then AUTH) and a real HTTP receiver, and
name the runbook to follow."""
from __future__ import annotations

from datetime import datetime
from email import message_from_bytes

from monitors import notify
from monitors.models import Notification

from .monitor_helpers import feed

START = datetime(2026, 3, 2, 9, 0)


def _email_settings(settings, smtp_server):
    smtp_server.serve(settings, "box@shop.example", to=["it@shop.example", "owner@shop.example"])


def test_email_alert_is_delivered_over_starttls_with_auth(db, settings, smtp_server, tmp_path):
    _email_settings(settings, smtp_server)
    feed(settings, "db_probe", ["ok"] * 3 + ["crit"] * 3, START, reason="database probe failed")

    assert notify.deliver_due(settings, START.replace(hour=10)) == {"delivered": 1, "failed": 0}

    (envelope,) = smtp_server.mailbox.messages
    assert envelope.rcpt_tos == ["it@shop.example", "owner@shop.example"]
    mail = message_from_bytes(envelope.original_content)
    assert "CRIT db_probe" in mail["Subject"]
    body = mail.get_payload()
    assert "Runbook to follow: database-down" in body
    assert "appliance runbook show database-down" in body
    assert smtp_server.mailbox.logins == [(smtp_server.username, True)]


def test_wrong_smtp_password_is_recorded_and_kept_without_the_password(db, settings, smtp_server, tmp_path):
    _email_settings(settings, smtp_server)
    (tmp_path / "smtp.password").write_text("wrong-pass")
    feed(settings, "db_probe", ["ok"] * 3 + ["crit"] * 3, START)

    assert notify.deliver_due(settings, START.replace(hour=10)) == {"delivered": 0, "failed": 1}

    note = Notification.get()
    assert note.delivered_at is None and note.attempts == 1
    assert "SMTPAuthenticationError" in note.last_error
    assert "wrong-pass" not in note.last_error
    assert smtp_server.mailbox.messages == []


def test_webhook_alert_is_posted_as_json(db, settings, receiver):
    settings.monitors.webhook_urls = [receiver.url]
    settings.monitors.box_name = "shop-1"
    settings.monitors.runbook_base_url = "https://shop-1.example/ops/runbooks/"
    feed(settings, "readyz", ["ok"] * 3 + ["crit"] * 3, START, reason="not answering")

    assert notify.deliver_due(settings, START.replace(hour=10))["delivered"] == 1

    (alert,) = receiver.received
    assert alert["box"] == "shop-1"
    assert (alert["check"], alert["kind"], alert["state"], alert["previous"]) == ("readyz", "alert", "crit", "ok")
    assert alert["runbook_link"] == "https://shop-1.example/ops/runbooks/web-down"
    assert alert["reason"] == "not answering crit"
