"""Alert delivery from the outbox: e-mail (SMTP, STARTTLS, auth) and webhook (JSON POST).

A failed attempt is recorded on its row (attempts, last_error) and retried with exponential backoff
until it succeeds; nothing is dropped. Passwords are read at send time and never logged."""
from __future__ import annotations

import json
import logging
import smtplib
import ssl
import urllib.error
import urllib.request
from datetime import datetime, timedelta
from email import message_from_string, policy
from email.message import EmailMessage

from appliance.config import Settings
from appliance.models import utcnow

from .engine import OFFLINE_RUNBOOK_PATH
from .models import Notification

log = logging.getLogger(__name__)


class DeliveryError(Exception):
    pass


# A message made elsewhere (a receipt: web/pages/receipts.py), sent as it is: queued with `queue_mail`.
MAIL_CHANNEL = "mail"


def queue_mail(message: EmailMessage, check: str, kind: str) -> Notification:
    """Puts a ready message in the outbox instead of sending it now: `deliver_due` (the scheduler's
    outbox job) sends it and retries a failure, so whoever queued it never waits on the SMTP server."""
    return Notification.create(check=check[:64], kind=kind[:16], channel=MAIL_CHANNEL, target=message["To"],
                               payload=json.dumps({"message": message.as_string()}))


# Channels other packages' modules add: name -> send(note, settings), raising DeliveryError on failure
# (monitors/webhooks.py adds "integration" for the shop's outbound webhooks when it is imported).
CHANNELS: dict = {}


def deliver_due(settings: Settings, now: datetime | None = None, only: list[int] | None = None) -> dict[str, int]:
    """Sends every outbox row whose time has come (of `only` these ids, when given); returns how many
    were delivered and how many failed."""
    now = now or utcnow()
    query = Notification.select().where(Notification.delivered_at.is_null() & (Notification.next_attempt_at <= now))
    due = list((query.where(Notification.id.in_(only)) if only is not None else query).order_by(Notification.id))
    counts = {"delivered": 0, "failed": 0}
    for note in due:
        try:
            send(note, settings)
        except DeliveryError as e:
            _record_failure(note, str(e), settings, now)
            counts["failed"] += 1
        else:
            note.delivered_at = utcnow()
            note.attempts += 1
            note.last_error = None
            note.save()
            counts["delivered"] += 1
    return counts


def _record_failure(note: Notification, error: str, settings: Settings, now: datetime) -> None:
    note.attempts += 1
    note.last_error = error[:1000]
    m = settings.monitors
    wait = min(m.retry_base_seconds * 2 ** (note.attempts - 1), m.retry_max_seconds)
    note.next_attempt_at = now + timedelta(seconds=wait)
    note.save()
    log.warning("alert %s via %s failed (attempt %d, next in %d s): %s",
                note.id, note.channel, note.attempts, wait, note.last_error)


def send(note: Notification, settings: Settings) -> None:
    payload = json.loads(note.payload)
    if note.channel == "email":
        send_email(payload, settings)
    elif note.channel == "webhook":
        send_webhook(note.target, payload, settings.monitors.webhook_timeout_seconds)
    elif note.channel == MAIL_CHANNEL:
        send_mail(message_from_string(payload["message"], policy=policy.default), settings)
    elif note.channel in CHANNELS:
        CHANNELS[note.channel](note, settings)
    else:
        raise DeliveryError(f"unknown channel {note.channel!r}")


def email_message(payload: dict, settings: Settings) -> EmailMessage:
    smtp = settings.monitors.smtp
    message = EmailMessage()
    message["Subject"] = payload["summary"]
    message["From"] = smtp.from_address
    message["To"] = ", ".join(smtp.to)
    lines = [
        payload["summary"], "",
        f"Check:   {payload['check']}",
        f"State:   {payload['state']} (was {payload['previous'] or 'the same'}) since {payload['since']}",
        f"Value:   {payload['value']}",
        f"Reason:  {payload['reason']}",
        f"Box:     {payload['box']}",
    ]
    if payload["kind"] != "recovery":
        lines += ["", f"Runbook to follow: {payload['runbook']}", f"  {payload['runbook_link']}",
                  f"  on the box: appliance runbook show {payload['runbook']}",
                  f"  box unreachable: {OFFLINE_RUNBOOK_PATH.format(runbook=payload['runbook'])}"
                  " beside the backups on each target",
                  "", "Acknowledge to stop reminders: appliance monitors ack " + payload["check"]]
    message.set_content("\n".join(lines) + "\n")
    return message


def send_email(payload: dict, settings: Settings) -> None:
    send_mail(email_message(payload, settings), settings)


def send_mail(message: EmailMessage, settings: Settings, timeout_seconds: float | None = None) -> None:
    """Sends one message over the box's SMTP settings (`[monitors.smtp]`: STARTTLS, sign-in); its
    recipients are the message's To. Alerts and receipts (web/pages/receipts.py) both go this way;
    `timeout_seconds` may shorten monitors.smtp.timeout_seconds (a customer waits at the counter)."""
    smtp = settings.monitors.smtp
    if not smtp.host:
        raise DeliveryError("no SMTP server is set (monitors.smtp.host)")
    timeout = min(smtp.timeout_seconds, timeout_seconds) if timeout_seconds else smtp.timeout_seconds
    try:
        with smtplib.SMTP(smtp.host, smtp.port, timeout=timeout) as client:
            if smtp.starttls:
                context = ssl.create_default_context(cafile=str(settings.path(smtp.ca_file)) if smtp.ca_file else None)
                client.starttls(context=context)
            if smtp.username:
                client.login(smtp.username, _password(settings))
            client.send_message(message)
    except (OSError, smtplib.SMTPException) as e:
        # smtplib errors carry the server's answer, never our password.
        raise DeliveryError(f"SMTP {smtp.host}:{smtp.port}: {type(e).__name__}: {e}") from None


def _password(settings: Settings) -> str:
    path = settings.monitors.smtp.password_file
    if not path:
        raise DeliveryError("monitors.smtp.username is set but monitors.smtp.password_file is not")
    try:
        return settings.path(path).read_text().strip()
    except OSError as e:
        raise DeliveryError(f"cannot read monitors.smtp.password_file: {e.strerror}") from None


def send_webhook(url: str, payload: dict, timeout: float) -> None:
    request = urllib.request.Request(url, data=json.dumps(payload).encode(), method="POST",
                                     headers={"Content-Type": "application/json",
                                              "User-Agent": "store-appliance-monitors"})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            response.read()
    except urllib.error.HTTPError as e:
        raise DeliveryError(f"webhook {url} answered {e.code} {e.reason}") from None
    except (urllib.error.URLError, OSError) as e:
        raise DeliveryError(f"webhook {url}: {getattr(e, 'reason', e)}") from None
