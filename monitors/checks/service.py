"""Service checks: /readyz and its response time, a database write+read probe, SQLite quick_check,
scheduler, web worker and order writer liveness."""
from __future__ import annotations

import json
import ssl
import time
import urllib.error
import urllib.request
from datetime import datetime

import peewee

from appliance.config import Settings
from appliance.db import database, write_transaction
from appliance.models import KeyValue
from appliance.processes import ProcessRecord

from .. import liveness
from . import Check, CheckContext, Result, crit, ok, unknown

PROBE_KEY = "monitor_probe"
HEARTBEAT_KEY = "scheduler_heartbeat"


SERVED_FILE = "run/serve.json"  # written by `appliance serve` when it is ready (cli/serve_cmd.py)


def readyz_url(settings: Settings) -> str:
    """monitors.readyz_url when set; else the address `appliance serve` records it serves on
    (`serve --port` may differ from the config) while that process runs; else server.host/port."""
    if settings.monitors.readyz_url:
        return settings.monitors.readyz_url
    host, port = served_address(settings) or (settings.server.host, settings.server.port)
    # A wildcard listen address is reached on loopback.
    host = {"0.0.0.0": "127.0.0.1", "": "127.0.0.1", "::": "::1"}.get(host, host)
    if ":" in host:
        host = f"[{host}]"
    scheme = "https" if settings.server.tls_cert_file else "http"  # `appliance serve` serves TLS itself
    return f"{scheme}://{host}:{port}/readyz"


def served_address(settings: Settings) -> tuple[str, int] | None:
    """(host, port) from run/serve.json while the process that wrote it still runs (not a stale
    file left by a killed server, nor a pid reused since)."""
    try:
        record = json.loads(settings.path(SERVED_FILE).read_text())
        host, port = str(record["host"]), int(record["port"])
        live = ProcessRecord(int(record["pid"]), float(record["started"])).running()
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return None
    return (host, port) if live else None


def readyz(ctx: CheckContext) -> Result:
    url = readyz_url(ctx.settings)
    timeout = max(ctx.config.crit or 5.0, 1.0)
    started = time.perf_counter()
    try:
        with urllib.request.urlopen(url, timeout=timeout, context=_own_server_tls(ctx.settings, url)) as response:
            response.read()
    except urllib.error.HTTPError as e:
        return crit(None, f"{url} answered {e.code}: {_reason_of(e)}")
    except (urllib.error.URLError, OSError) as e:
        return crit(None, f"{url} does not answer: {getattr(e, 'reason', e)}")
    seconds = time.perf_counter() - started
    return Result(ctx.grade(seconds), round(seconds, 4), f"ready, answered in {seconds * 1000:.0f} ms")


def _own_server_tls(settings: Settings, url: str) -> ssl.SSLContext | None:
    """Probing this box's own HTTPS by address: its certificate names a host, not 127.0.0.1, so only
    availability is checked here (tls_expiry watches the certificate)."""
    if not url.startswith("https://") or settings.monitors.readyz_url:
        return None
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    return context


def _reason_of(error: urllib.error.HTTPError) -> str:
    try:
        return json.loads(error.read()).get("reason", error.reason)
    except (ValueError, AttributeError, OSError):
        return str(error.reason)


def db_probe(ctx: CheckContext) -> Result:
    """A small write and read back: proves the database takes writes, and how fast."""
    stamp = ctx.now.isoformat()
    started = time.perf_counter()
    try:
        with write_transaction():
            KeyValue.put(PROBE_KEY, stamp)
        read_back = KeyValue.get(KeyValue.key == PROBE_KEY).value
    except peewee.PeeweeException as e:
        return crit(None, f"database probe failed: {' '.join(str(e).split())}")
    seconds = time.perf_counter() - started
    if read_back != stamp:
        return crit(round(seconds, 4), "database probe read back a different value than it wrote")
    return Result(ctx.grade(seconds), round(seconds, 4), f"write and read back in {seconds * 1000:.1f} ms")


def _is_sqlite(settings: Settings) -> bool:
    return settings.database.url.startswith("sqlite:")


def db_integrity(ctx: CheckContext) -> Result:
    rows = [r[0] for r in database.execute_sql("PRAGMA quick_check").fetchall()]
    if rows == ["ok"]:
        return ok(0, "SQLite quick_check: ok")
    return crit(len(rows), f"SQLite quick_check found {len(rows)} problem(s): {rows[0]}")


def scheduler(ctx: CheckContext) -> Result:
    row = KeyValue.get_or_none(KeyValue.key == HEARTBEAT_KEY)
    if row is None:
        return unknown("no scheduler heartbeat recorded yet")
    try:
        beat = datetime.fromisoformat(row.value).replace(tzinfo=None)
    except ValueError:
        return unknown(f"scheduler heartbeat is not a time: {row.value[:40]!r}")
    age = (ctx.now - beat).total_seconds()
    return Result(ctx.grade(age), round(age), f"last scheduler heartbeat {age:.0f} s ago")


def web_workers(ctx: CheckContext) -> Result:
    alive = liveness.live_web_workers(ctx.settings)
    if alive is None:
        return unknown("no web worker has started on this box yet")
    expected = ctx.settings.server.workers
    if not alive:
        return crit(0, "no web worker process is alive")
    state = "warn" if len(alive) < expected else "ok"
    return Result(state, len(alive), f"{len(alive)} of {expected} web workers alive")


def order_writer(ctx: CheckContext) -> Result:
    from appliance import order_writer as writer
    if not ctx.settings.server.order_writer:
        return ok(0, "turned off (server.order_writer): web workers write orders themselves")
    if not liveness.live_web_workers(ctx.settings):
        return unknown("no web worker is running, so no order writer is expected")
    pid = writer.running(ctx.settings)
    if pid is None:
        return Result("warn", 0, "the order writer is not running: web workers write orders themselves, "
                                 "far slower under load (serve restarts it; see its log)")
    return ok(1, f"order writer running (pid {pid})")


CHECKS = [
    Check("readyz", "service", readyz, "/readyz answers 200; seconds", 30, "web-down", warn=1.0, crit=5.0),
    Check("db_probe", "service", db_probe, "database write+read latency, seconds", 60, "database-down",
          warn=0.5, crit=2.0),
    Check("db_integrity", "service", db_integrity, "SQLite quick_check", 3600, "database-corrupt",
          confirm_count=1, applies=_is_sqlite),
    Check("scheduler", "service", scheduler, "age of the scheduler heartbeat, seconds", 60, "scheduler-down",
          warn=180, crit=600),
    Check("web_workers", "service", web_workers, "live web worker processes", 60, "web-down"),
    Check("order_writer", "service", order_writer, "the order writer process runs", 60, "web-down"),
]
