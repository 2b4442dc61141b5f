"""Prometheus metrics (DESIGN §6 names).

Everything the database or the host knows is read at scrape time by one collector, so every web
worker answers the same figures, across restarts. Only the HTTP latency histogram lives in process
memory; with several gunicorn workers it uses prometheus-client's multiprocess mode: `appliance serve`
sets PROMETHEUS_MULTIPROC_DIR (under the home) before the workers start and marks dead workers.
"""
from __future__ import annotations

import logging
import os
from datetime import datetime, timezone

import psutil
from peewee import fn
from prometheus_client import CollectorRegistry, Histogram, generate_latest, multiprocess, values
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.registry import Collector

from appliance.config import Settings
from appliance.models import CHANNELS, Order

from .checks import catalog, config_for
from .checks.host import watched_mounts
from .models import STATE_VALUES, CheckState, Notification
from .recovery_facts import backup_facts, latest_drills

log = logging.getLogger(__name__)
CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"

# Latency buckets for a small shop's box: most pages in tens of ms, imports and reports in seconds.
HTTP_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
_http_registry = CollectorRegistry()
_http_histogram: Histogram | None = None


def http_histogram() -> Histogram:
    """Created on first use, so multiprocess mode (set up by `serve`) is already in force."""
    global _http_histogram
    if _http_histogram is None:
        if os.environ.get(MULTIPROC_ENV) and not _is_multiprocess_value_class():
            # prometheus_client chooses its value store at import; it was imported before `serve` set the folder.
            values.ValueClass = values.get_value_class()
        _http_histogram = Histogram("appliance_http_request_duration_seconds", "Time to answer HTTP requests.",
                                    ["method", "route", "status"], buckets=HTTP_BUCKETS, registry=_http_registry)
    return _http_histogram


def _is_multiprocess_value_class() -> bool:
    return values.ValueClass.__name__ == "MmapedValue"


def render(settings: Settings) -> bytes:
    registry = CollectorRegistry(auto_describe=False)
    registry.register(ApplianceCollector(settings))
    if os.environ.get(MULTIPROC_ENV):
        multiprocess.MultiProcessCollector(registry)  # merges every worker's histogram files
    else:
        registry.register(_HttpCollector())
    return generate_latest(registry)


class _HttpCollector(Collector):
    def collect(self):
        if _http_histogram is not None:
            yield from _http_registry.collect()


def _timestamp(at: datetime) -> float:
    return at.replace(tzinfo=timezone.utc).timestamp()


class ApplianceCollector(Collector):
    def __init__(self, settings: Settings):
        self.settings = settings

    def collect(self):
        yield from self._checks()
        yield from self._orders()
        yield from _host(self.settings)
        yield from self._recovery()
        yield from _failover(self.settings)

    def _checks(self):
        status = GaugeMetricFamily("appliance_check_status", "Check state: 0 ok, 1 warn, 2 crit, 3 unknown.",
                                   labels=["check"])
        last_run = GaugeMetricFamily("appliance_check_last_run_timestamp_seconds",
                                     "When the check last ran (stale means the scheduler stopped).", labels=["check"])
        for row in CheckState.select():
            status.add_metric([row.check], STATE_VALUES.get(row.state, 3))
            if row.last_run_at:
                last_run.add_metric([row.check], _timestamp(row.last_run_at))
        # An info metric (always 1) that alert rules join on `check` to name and link the runbook.
        runbooks = GaugeMetricFamily("appliance_check_runbook_info", "The runbook each check's alerts name (always 1).",
                                     labels=["check", "runbook"])
        for name, check in catalog().items():
            runbook = config_for(check, self.settings).runbook
            if runbook:
                runbooks.add_metric([name, runbook], 1)
        undelivered = GaugeMetricFamily("appliance_alerts_undelivered", "Alerts waiting in the outbox.")
        undelivered.add_metric([], Notification.select().where(Notification.undelivered_alert()).count())
        yield from (status, last_run, runbooks, undelivered)

    def _orders(self):
        # Counted in the database: the same answer from every worker, and it survives restarts.
        counts = dict.fromkeys(CHANNELS, 0)
        for channel, count in Order.select(Order.channel, fn.COUNT(Order.id)).group_by(Order.channel).tuples():
            counts[channel] = count
        family = CounterMetricFamily("appliance_orders_created", "Orders created, by channel.", labels=["channel"])
        for channel, count in sorted(counts.items()):
            family.add_metric([channel], count)
        yield family

    def _recovery(self):
        try:
            facts = backup_facts(self.settings) or {}
        except Exception as e:  # noqa: BLE001 - a broken backup catalog must not take /metrics down
            log.warning("backup facts unavailable for /metrics: %s", e)
            facts = {}
        last = GaugeMetricFamily("appliance_backup_last_success_timestamp_seconds",
                                 "When the newest complete backup reached the target.", labels=["target"])
        duration = GaugeMetricFamily("appliance_backup_duration_seconds", "How long the last backup took.", labels=["target"])
        size = GaugeMetricFamily("appliance_backup_size_bytes", "Size of the last backup.", labels=["target"])
        for t in facts.get("targets") or []:
            if t.get("last_success_at"):
                last.add_metric([t["name"]], _timestamp(t["last_success_at"]))
            if t.get("last_duration_seconds") is not None:
                duration.add_metric([t["name"]], t["last_duration_seconds"])
            if t.get("last_size_bytes") is not None:
                size.add_metric([t["name"]], t["last_size_bytes"])
        yield from (last, duration, size)
        replication = facts.get("replication") or {}
        if replication.get("lag_seconds") is not None:
            lag = GaugeMetricFamily("appliance_replication_lag_seconds", "How far the continuous copy is behind.")
            lag.add_metric([], replication["lag_seconds"])
            yield lag
        rto = GaugeMetricFamily("appliance_drill_rto_seconds", "Recovery time achieved by the last drill.", labels=["runbook"])
        rpo = GaugeMetricFamily("appliance_drill_rpo_seconds", "Data loss window of the last drill.", labels=["runbook"])
        when = GaugeMetricFamily("appliance_drill_last_timestamp_seconds", "When the last drill ran.", labels=["runbook"])
        for drill in latest_drills():
            when.add_metric([drill.runbook], _timestamp(drill.at))
            if drill.rto_seconds is not None:
                rto.add_metric([drill.runbook], drill.rto_seconds)
            if drill.rpo_seconds is not None:
                rpo.add_metric([drill.runbook], drill.rpo_seconds)
        yield from (rto, rpo, when)


FAILOVER_ROLES = ("primary", "fenced_primary", "standby", "single")


def _failover(settings: Settings):
    """The pair (failover/): role (one series per role, 1 for this box's), epoch, fenced, the lease's
    seconds left (NaN when unknown). A box without failover is `single`, epoch 0, never fenced."""
    section = getattr(settings, "failover", None)
    role, epoch, fenced, left = "single", 0, 0, float("nan")
    if section is not None and section.enabled:
        try:
            from failover import facts
            s = facts.pair_status(settings)
            role = s["role"].replace(" ", "_")
            epoch = max(s["epoch"] or 0, s["home_epoch"] or 0)
            fenced = int(bool(s["fenced"]))
            if s["lease_seconds_left"] is not None and s["lease_holder"] is not None:
                left = s["lease_seconds_left"]
        except Exception as e:  # noqa: BLE001 - the pair's trouble must not take /metrics down
            log.warning("failover status unavailable for /metrics: %s", e)
            from appliance import fencing
            writes = fencing.permits_writes(settings.home)
            role, fenced = ("primary", 0) if writes else ("standby", 1)
    family = GaugeMetricFamily("appliance_failover_role", "This box's role in the pair: 1 for its current role "
                               "(primary, fenced_primary, standby; single without failover).", labels=["role"])
    for name in FAILOVER_ROLES:
        family.add_metric([name], 1 if name == role else 0)
    yield family
    yield GaugeMetricFamily("appliance_failover_epoch", "The pair's epoch (only grows; 0 without failover).", value=epoch)
    yield GaugeMetricFamily("appliance_failover_fenced", "1 while this box refuses writes (its write permit).",
                            value=fenced)
    yield GaugeMetricFamily("appliance_failover_lease_seconds_left",
                            "Seconds left on the pair's leader lease (NaN when unknown or without failover).", value=left)
    yield GaugeMetricFamily("appliance_failover_standby_lag_seconds",
                            "How far this standby's copy of the primary's database is behind the replica (0: it holds "
                            "the newest transaction; NaN on a primary, without failover, or while unknown).",
                            value=_standby_lag(settings) if role != "single" else float("nan"))


def _standby_lag(settings: Settings) -> float:
    from appliance import fencing
    from failover import standby
    if fencing.permits_writes(settings.home):
        return float("nan")  # a box that may write follows nobody
    facts = standby.read_facts(settings)
    if not facts or not facts["following"] or facts["lag_seconds"] is None:
        return float("nan")
    return facts["lag_seconds"]


def _host(settings: Settings):
    def gauge(name, doc, value=None, labels=()):
        family = GaugeMetricFamily(f"appliance_host_{name}", doc, labels=list(labels))
        if value is not None:
            family.add_metric([], value)
        return family

    mem, sw = psutil.virtual_memory(), psutil.swap_memory()
    yield gauge("cpu_usage_ratio", "CPU busy share since the previous scrape.", psutil.cpu_percent(None) / 100)
    yield gauge("memory_used_ratio", "Share of memory in use.", mem.percent / 100)
    yield gauge("memory_available_bytes", "Memory available without swapping.", mem.available)
    yield gauge("swap_used_ratio", "Share of swap in use.", sw.percent / 100)
    load = gauge("load_average", "Load average.", labels=["period"])
    for period, value in zip(("1m", "5m", "15m"), os.getloadavg()):
        load.add_metric([period], value)
    yield load
    used = gauge("disk_used_ratio", "Share of the file system in use.", labels=["mount"])
    free = gauge("disk_free_bytes", "Free bytes on the file system.", labels=["mount"])
    inodes = gauge("disk_inodes_used_ratio", "Share of inodes in use.", labels=["mount"])
    for mount in watched_mounts(settings):
        usage, st = psutil.disk_usage(mount), os.statvfs(mount)
        used.add_metric([mount], usage.percent / 100)
        free.add_metric([mount], usage.free)
        if st.f_files:
            inodes.add_metric([mount], (st.f_files - st.f_ffree) / st.f_files)
    yield from (used, free, inodes)
    temps = gauge("temperature_celsius", "Temperature per sensor.", labels=["sensor"])
    for chip, readings in getattr(psutil, "sensors_temperatures", dict)().items():
        for n, r in enumerate(readings):
            temps.add_metric([f"{chip}/{r.label or n}"], r.current)
    yield temps
