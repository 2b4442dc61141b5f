"""Settings as data: every setting is a typed, documented field with a default.

`$APPLIANCE_HOME/appliance.toml` is read at start-up, then environment variables
`APPLIANCE_<SECTION>_<SETTING>` override single values (e.g. `APPLIANCE_DATABASE_URL`).
A wrong or unknown setting stops start-up with one sentence naming it (`ConfigError`).
docs/settings.md documents every field; tests/test_settings_are_documented.py keeps them in step.

The core owns the sections defined here; a package above it owns its own (`[backup]` in
backup/settings.py, `[monitors]` in monitors/settings.py) and registers it with `register_section`.
The composition root registers every package's section before anything loads the config
(cli/wiring.py `register_settings`); `load` then validates, overrides and documents a registered
section exactly like a core one, and `settings.backup` is a typed attribute like `settings.server`.
"""
from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from types import UnionType
from typing import Annotated, Any, Callable, Literal, Union, get_args, get_origin

from pydantic import BaseModel, ConfigDict, Field, ValidationError, create_model, field_validator

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
    tls_cert_file: str = Field("", description="PEM certificate (with its chain) `appliance serve` serves HTTPS with; set together with tls_key_file (`appliance tls self-signed` makes a self-signed pair, or use the shop CA's). Empty: plain HTTP (e.g. behind a TLS reverse proxy, docs/security.md). The `tls_expiry` check watches it.")
    tls_key_file: str = Field("", description="PEM private key of tls_cert_file (mode 600).")
    trusted_proxies: list[str] = Field(default_factory=list, description="Addresses or networks (e.g. `127.0.0.1`, `10.0.0.5/32`) of reverse proxies whose X-Forwarded-For/-Proto/-Host are believed; from any other client these headers are ignored.")
    https_only: bool = Field(False, description="Behind a TLS reverse proxy: a plain-HTTP request from a non-loopback address is redirected to HTTPS (always so when tls_cert_file is set). Over HTTPS every answer carries HSTS and cookies are Secure either way.")
    http_redirect_port: int = Field(0, ge=0, le=65535, description="With tls_cert_file: a plain-HTTP port (e.g. 80, or 8081) whose every request is redirected to HTTPS on server.port, so `http://box` still leads to the shop; 0: none.")
    hsts_seconds: int = Field(31_536_000, ge=0, description="max-age of the Strict-Transport-Security header sent on HTTPS answers (0: no header).")
    metrics_networks: list[str] = Field(default_factory=lambda: ["127.0.0.0/8", "::1/128"], description="Client addresses or networks allowed to read /metrics (others get 403); add the central Prometheus's address here.")
    metrics_token_file: str = Field("", description="File holding a bearer token /metrics then requires (`Authorization: Bearer ...`, else 401), from every address; empty: no token.")

    @field_validator("trusted_proxies", "metrics_networks")
    @classmethod
    def _networks(cls, value: list[str]) -> list[str]:
        import ipaddress
        for item in value:
            try:
                ipaddress.ip_network(item.strip(), strict=False)
            except ValueError:
                raise ValueError(f"{item!r} is not an IP address or network (e.g. 10.0.0.5 or 10.0.0.0/24)") from None
        return value


class ShopSettings(Section):
    name: str = Field("", max_length=200, description="The shop's name, printed at the top of receipts (and used as their e-mail subject).")
    address: str = Field("", max_length=1000, description="The shop's postal address as printed on receipts; a newline (`\\n` in TOML) breaks the line.")
    tax_number: str = Field("", max_length=100, description="The shop's tax (VAT) number, printed on receipts when set.")
    country: str = Field("", description="Two-letter ISO 3166 code of the shop's country (e.g. `DE`): customers' phone numbers typed without a country code are read as this country's and stored in international form (E.164). Empty: a number must be typed with its country code (+49 …, or 0049 …).")
    timezone: str = Field("UTC", description="IANA time zone of the shop (e.g. `Europe/Berlin`): pages show and read times on its clock, and report days, \"today\" and \"this week\" begin at its midnight. Times are stored (and the API and CLI speak) in UTC. `appliance init` writes the machine's zone.")

    @field_validator("country")
    @classmethod
    def _known_country(cls, value: str) -> str:
        import phonenumbers
        value = value.strip().upper()
        if value and value not in phonenumbers.SUPPORTED_REGIONS:
            raise ValueError(f"unknown country {value!r} (use a two-letter ISO 3166 code such as DE or GB)")
        return value

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
    velocity_days: int = Field(28, ge=1, description="Sales velocity (units sold per day, for replenishment) is measured over this many past days; 28 counts every weekday four times.")
    cover_days: int = Field(14, ge=1, description="The review period (days until the next order is placed): a suggested reorder covers this many days of sales beyond the supplier's lead time, on top of the reorder point.")


class SecuritySettings(Section):
    login_max_failures: int = Field(5, ge=1, description="Failed sign-ins from one address before each further attempt from there has to wait (the wait doubles with every failure). No account is ever locked.")
    lockout_minutes: int = Field(5, ge=1, description="The longest wait between sign-in attempts from an address that keeps failing.")
    login_first_wait_seconds: int = Field(1, ge=1, description="The first wait once the free failures are used up; it doubles with every further failure.")
    login_user_max_failures: int = Field(10, ge=1, description="Failed sign-ins for one user name from one address before each further attempt for that name from there has to wait. Failures are never counted against a user name alone, so guesses from elsewhere cannot keep a till out of its shared login.")
    login_user_max_wait_seconds: int = Field(15, ge=1, description="The longest wait between sign-in attempts for one user name from one address.")
    login_forget_minutes: int = Field(60, ge=1, description="Failures are forgotten once this long has passed without a counted attempt.")
    session_hours: int = Field(12, ge=1, description="How long a web sign-in lasts.")


class Settings(Section):
    """The core's sections. Settings loaded by `load` also have every registered section as a field:
    they are instances of a subclass assembled at load time (`settings_model`)."""
    database: DatabaseSettings = Field(default_factory=DatabaseSettings)
    server: ServerSettings = Field(default_factory=ServerSettings)
    shop: ShopSettings = Field(default_factory=ShopSettings)
    recovery: RecoverySettings = Field(default_factory=RecoverySettings)
    orders: OrderSettings = Field(default_factory=OrderSettings)
    approval: ApprovalSettings = Field(default_factory=ApprovalSettings)
    replenishment: ReplenishmentSettings = Field(default_factory=ReplenishmentSettings)
    security: SecuritySettings = Field(default_factory=SecuritySettings)

    # Not a setting: where the box keeps its files (APPLIANCE_HOME).
    home: Path = Field(Path(DEFAULT_HOME), exclude=True)

    def path(self, relative: str | Path) -> Path:
        """Resolves a path setting: relative paths are relative to the home folder."""
        p = Path(relative)
        return p if p.is_absolute() else self.home / p


@dataclass(frozen=True)
class RegisteredSection:
    """A section of appliance.toml owned by a package above the core."""
    name: str
    model: type[Section]
    # Its part of the appliance.toml `appliance init` writes (starting with its `[name]` line), if any.
    default_toml: Callable[[], str] | None = None


# Section name -> its owner's registration. The one extension point for settings (cli/wiring.py fills it).
SECTIONS: dict[str, RegisteredSection] = {}


def register_section(name: str, model: type[Section], *, default_toml: Callable[[], str] | None = None) -> None:
    """Adds a package's section: validated, overridable by environment variables and documented
    like the core's. One name has one owner (model); its owner may register it again (each run of
    `appliance` in one process does)."""
    if name in Settings.model_fields:
        raise ValueError(f"[{name}] is a section of the core; a package cannot register it")
    if name in SECTIONS and SECTIONS[name].model is not model:
        raise ValueError(f"[{name}] is already registered by {SECTIONS[name].model.__module__}")
    SECTIONS[name] = RegisteredSection(name, model, default_toml)


def settings_model() -> type[Settings]:
    """The model of appliance.toml: the core's sections, then the registered ones by name (a fixed
    order, whichever process registered them in whichever order: docs/settings.md follows it)."""
    return _assembled(tuple((name, SECTIONS[name].model) for name in sorted(SECTIONS)))


@lru_cache(maxsize=None)
def _assembled(sections: tuple[tuple[str, type[Section]], ...]) -> type[Settings]:
    if not sections:
        return Settings
    fields = {name: (model, Field(default_factory=model)) for name, model in sections}
    return create_model("Settings", __base__=Settings, __module__=__name__, **fields)


def home_from_env(environ: dict[str, str] | None = None) -> Path:
    environ = os.environ if environ is None else environ
    return Path(environ.get("APPLIANCE_HOME", DEFAULT_HOME)).resolve()


def load(home: Path | None = None, environ: dict[str, str] | None = None, require_file: bool = True,
         *, unregistered_sections: Literal["refuse", "leave"] = "refuse") -> Settings:
    """Reads the home's appliance.toml, applies environment overrides and validates.

    A table that is neither a core nor a registered section is refused as an unknown setting. Only a
    process whose parent has validated the whole file may `leave` such tables to their owners: it
    then has the core's and its registered sections, the others are not read.
    """
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
    if unregistered_sections == "leave":
        known = settings_model().model_fields
        data = {name: value for name, value in data.items() if name in known}
    _apply_env_overrides(data, environ)
    return validate(data, home)


def validate(data: dict[str, Any], home: Path) -> Settings:
    try:
        settings = settings_model().model_validate(data)
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
    for section_name, field in settings_model().model_fields.items():
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
    for section_name, field in settings_model().model_fields.items():
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
    """The appliance.toml `appliance init` writes: the settings people change most, the core's
    first, then each registered section's own part (in the order of docs/settings.md)."""
    parts = [_core_default_toml(database_url, timezone)]
    parts += [SECTIONS[name].default_toml() for name in sorted(SECTIONS) if SECTIONS[name].default_toml]
    return "\n".join(parts)


def _core_default_toml(database_url: str | None, timezone: str | None) -> str:
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
# printed on receipts (docs/settings.md):
# name = "Corner Tea House"
# address = "Hauptstrasse 5\\n10115 Berlin"
# tax_number = "DE123456789"

[recovery]
rto_seconds = {s.recovery.rto_seconds}
rpo_seconds = {s.recovery.rpo_seconds}

[orders]
overdue_after_hours = {s.orders.overdue_after_hours:g}

[approval]
max_amount_cents = {s.approval.max_amount_cents}
first_order_amount_cents = {s.approval.first_order_amount_cents}
"""
