"""The `[monitors]` section of appliance.toml: checks, alert delivery (webhooks, e-mail), uptime.

Owned by this package and registered by the composition root (cli/wiring.py) with `register`:
the core validates, overrides and documents it like its own sections without importing monitors.
"""
from __future__ import annotations

from pydantic import Field

from appliance import config
from appliance.config import Section


class SmtpSettings(Section):
    host: str = Field("", description="SMTP relay for alert e-mails; empty turns e-mail alerts off.")
    port: int = Field(587, ge=1, le=65535, description="SMTP port (587 for STARTTLS submission).")
    starttls: bool = Field(True, description="Upgrade the SMTP connection with STARTTLS before signing in.")
    ca_file: str = Field("", description="CA certificate file to trust for the relay's TLS certificate (empty: the system's CAs).")
    username: str = Field("", description="SMTP user name; empty sends without signing in.")
    password_file: str = Field("", description="File holding the SMTP password (never written to logs).")
    from_address: str = Field("appliance@localhost", description="Sender address of alert e-mails.")
    to: list[str] = Field(default_factory=list, description="Recipients of alert e-mails.")
    timeout_seconds: float = Field(15, gt=0, description="How long one SMTP delivery attempt may take.")


class CheckSettings(Section):
    """Per-check overrides; an unset field keeps the check's built-in default (docs/monitors.md)."""
    enabled: bool | None = Field(None, description="Run this check.")
    interval_seconds: int | None = Field(None, ge=1, description="Seconds between runs.")
    warn: float | None = Field(None, description="Warning threshold (unit and direction per check).")
    crit: float | None = Field(None, description="Critical threshold.")
    confirm_count: int | None = Field(None, ge=1, description="Consecutive results needed to change state (flap damping).")
    runbook: str | None = Field(None, description="Runbook id named in this check's alerts.")


class MonitorSettings(Section):
    enabled: bool = Field(True, description="Run the checks under the scheduler.")
    box_name: str = Field("", description="Name of this box in alerts and metrics (empty: the host name).")
    confirm_count: int = Field(3, ge=1, description="Flap damping: consecutive results that must agree before a check changes state (checks may set their own).")
    reminder_minutes: int = Field(60, ge=1, description="While a check stays in warn, crit or unknown and is not acknowledged, repeat its alert this often.")
    readyz_url: str = Field("", description="URL the readiness check calls (empty: the address `appliance serve` is serving on, recorded in run/serve.json, else http://server.host:server.port/readyz).")
    disk_paths: list[str] = Field(default_factory=list, description="Extra mount points or folders the disk and inode checks watch (the home folder and every local disk are always watched).")
    tls_cert_file: str = Field("", description="Certificate file of the box's HTTPS front (enables the TLS expiry check).")
    tls_endpoint: str = Field("", description="host:port of the box's HTTPS front, checked over the network (enables the TLS expiry check).")
    runbook_base_url: str = Field("", description="Where runbooks are read, e.g. https://box/ops/runbooks; alerts link `<base>/<runbook id>` (empty: this box's own page, `http://<host name>:<server.port>/ops/runbooks`).")
    webhook_urls: list[str] = Field(default_factory=list, description="Each alert is POSTed as JSON to every URL here.")
    webhook_timeout_seconds: float = Field(10, gt=0, description="How long one webhook delivery attempt may take.")
    retry_base_seconds: int = Field(30, ge=1, description="First retry of a failed delivery after this long; each further retry waits twice as long.")
    retry_max_seconds: int = Field(3600, ge=1, description="Longest wait between delivery retries (failed deliveries are retried until they succeed).")
    history_days: int = Field(400, ge=31, description="How long state changes and delivered alerts are kept (uptime reports need them).")
    smtp: SmtpSettings = Field(default_factory=SmtpSettings, description="Alert e-mail delivery.")
    uptime_services: dict[str, list[str]] = Field(
        default_factory=lambda: {"web": ["readyz"], "database": ["db_probe"], "scheduler": ["scheduler"]},
        description="Services the uptime ledger reports on, each with the checks whose crit state means it is down.")
    checks: dict[str, CheckSettings] = Field(default_factory=dict, description="Per-check overrides, e.g. `[monitors.checks.disk] warn = 80`; unknown check names are refused at start-up.")


def register() -> None:
    """Makes `[monitors]` a section of appliance.toml in this process (cli/wiring.py calls it)."""
    config.register_section("monitors", MonitorSettings)
