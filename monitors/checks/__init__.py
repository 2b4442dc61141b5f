"""The check catalog. A check is a small function from a `CheckContext` to a `Result`; its defaults
(interval, thresholds, flap damping, runbook) live next to it and `[monitors.checks.<name>]` overrides them."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Callable

from appliance.config import ConfigError, Settings
from appliance.models import utcnow


@dataclass(frozen=True)
class Result:
    state: str  # ok | warn | crit | unknown
    value: float | str | None
    reason: str
    details: dict = field(default_factory=dict)


def ok(value, reason: str, **details) -> Result:
    return Result("ok", value, reason, details)


def unknown(reason: str, **details) -> Result:
    return Result("unknown", None, reason, details)


def crit(value, reason: str, **details) -> Result:
    return Result("crit", value, reason, details)


@dataclass(frozen=True)
class Check:
    name: str
    group: str  # host | service | business | recovery | tls | monitors | failover
    run: Callable[["CheckContext"], Result]
    description: str
    interval_seconds: int
    runbook: str
    warn: float | None = None
    crit: float | None = None
    # None: settings.monitors.confirm_count. Deterministic checks (counts, integrity) confirm at once.
    confirm_count: int | None = None
    applies: Callable[[Settings], bool] = lambda settings: True


@dataclass(frozen=True)
class CheckConfig:
    """A check's effective settings: its defaults with the config's overrides applied."""
    name: str
    enabled: bool
    interval_seconds: int
    warn: float | None
    crit: float | None
    confirm_count: int
    runbook: str


@dataclass
class CheckContext:
    settings: Settings
    config: CheckConfig
    now: datetime = field(default_factory=utcnow)

    def grade(self, value: float, *, higher_is_worse: bool = True) -> str:
        """ok / warn / crit of a number against this check's thresholds."""
        for state, limit in (("crit", self.config.crit), ("warn", self.config.warn)):
            if limit is not None and (value >= limit if higher_is_worse else value <= limit):
                return state
        return "ok"


def catalog() -> dict[str, Check]:
    from . import business, failover, host, meta, recovery, service, tls
    checks = [*host.CHECKS, *service.CHECKS, *business.CHECKS, *recovery.CHECKS, *tls.CHECKS, *meta.CHECKS,
              *failover.CHECKS]
    return {c.name: c for c in checks}


def config_for(check: Check, settings: Settings) -> CheckConfig:
    override = settings.monitors.checks.get(check.name)

    def pick(name, default):
        value = getattr(override, name, None) if override else None
        return default if value is None else value

    return CheckConfig(
        name=check.name,
        enabled=pick("enabled", True) and check.applies(settings),
        interval_seconds=pick("interval_seconds", check.interval_seconds),
        warn=pick("warn", check.warn),
        crit=pick("crit", check.crit),
        confirm_count=pick("confirm_count", check.confirm_count or settings.monitors.confirm_count),
        runbook=pick("runbook", check.runbook),
    )


def enabled_checks(settings: Settings) -> list[tuple[Check, CheckConfig]]:
    """Every check that runs on this box, after refusing overrides for checks that do not exist."""
    known = catalog()
    unknown_names = sorted(set(settings.monitors.checks) - set(known))
    if unknown_names:
        raise ConfigError(f"Unknown setting monitors.checks.{unknown_names[0]}: "
                          f"known checks are {', '.join(sorted(known))}.")
    pairs = [(check, config_for(check, settings)) for check in known.values()]
    return [(check, cfg) for check, cfg in pairs if cfg.enabled]
