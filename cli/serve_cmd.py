"""`appliance serve`: the web app under gunicorn (gthread workers), beside two processes of the box's
own: the order writer (appliance/order_writer.py) and the background process that runs the box's
scheduler (cli/background.py).

Start-up problems are one sentence and exit 1 (`check_start`), never a worker's traceback: what a
worker or the order writer would fail on (the database, the secret key, the backup key) is checked
in the master before anything forks.

SIGTERM stops gracefully: gunicorn stops accepting, lets in-flight requests finish for up to
server.graceful_timeout_seconds, then exits.
"""
from __future__ import annotations

import errno
import json
import logging
import os
import shutil
import socket
import ssl
import sys
import threading

import click
import gunicorn.util
import peewee
from gunicorn.app.base import BaseApplication

from appliance import config, operations, order_writer, runtime
from appliance.commandline import CliContext, pass_app
from appliance.processes import Backoff, ChildSupervisor, PipeLinkedChild, ProcessRecord

from .background import background as background_process

log = logging.getLogger(__name__)


class ApplianceServer(BaseApplication):
    def __init__(self, settings: config.Settings, options: dict):
        self.settings = settings
        self.options = options
        super().__init__()

    def load_config(self) -> None:
        for key, value in self.options.items():
            self.cfg.set(key, value)

    def load(self):
        from web import create_app

        from .wiring import register_panels
        try:
            register_panels()
            return create_app(self.settings)
        except Exception as e:  # noqa: BLE001 - check_start missed it: still one line, not a traceback
            click.echo(f"Error: a web worker could not start: {_one_line(e)}", err=True)
            raise SystemExit(3) from None  # gunicorn's "worker failed to boot": the master stops


def _hooks(settings: config.Settings, writer: order_writer.Supervisor | None,
           redirector: ChildSupervisor | None = None, background: PipeLinkedChild | None = None) -> dict:
    def post_worker_init(worker):
        if writer is not None:
            order_writer.use(settings)
        # The thread holding the database write lock must not wait 5 ms (Python's default switch
        # interval) for the GIL while another request thread parses JSON: measured +20-70% orders/s.
        sys.setswitchinterval(0.0005)
        connect_every_request_thread(worker.tpool, worker.cfg.threads)

    def child_exit(server, worker):
        if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
            from prometheus_client import multiprocess
            multiprocess.mark_process_dead(worker.pid)

    def on_exit(server):
        forget_served(settings)
        if redirector is not None:
            redirector.stop()
        if background is not None:
            background.stop()
        if writer is not None:
            writer.stop()  # after the workers: their in-flight orders may still need it

    def when_ready(server):
        bound = _bound_address(server)
        host, port = bound or (server.address[0] if server.address else ("?", "?"))
        if bound is not None:
            record_served(settings, *bound)
        scheme = "https" if settings.server.tls_cert_file else "http"
        click.echo(f"Store Appliance serving on {scheme}://{host}:{port}  (home {settings.home})", err=True)

    return {"post_worker_init": post_worker_init,
            "child_exit": child_exit, "when_ready": when_ready, "on_exit": on_exit}


def connect_every_request_thread(pool, threads: int, timeout: float = 30) -> None:
    """Starts each of a worker's `threads` request threads now and opens its database connection.

    The pool starts a thread only when none is idle, and each thread opens its connection on its
    first request and keeps it (SQLite's pragmas are set once per connection): a worker's threads
    and open files used to creep up over the first minutes of load, as rarer bursts needed one more
    thread, which looked like a leak in the soak (bench/soak_bench.py) and made those first
    requests pay for the connection. The barrier holds every task until all are running, so each
    is on a thread of its own.
    """
    from appliance.db import database
    together = threading.Barrier(threads)

    def connect() -> None:
        try:
            database.connect(reuse_if_open=True)
        except peewee.DatabaseError as e:  # the thread's first request connects (or says why it cannot)
            log.warning("a request thread could not connect to the database yet: %s", _one_line(e))
        together.wait(timeout)

    try:
        for started in [pool.submit(connect) for _ in range(threads)]:
            started.result(timeout)
    except (threading.BrokenBarrierError, TimeoutError) as e:  # the worker serves all the same
        log.warning("not every request thread started before the worker serves: %r", e)


# -- the address this box serves on ---------------------------------------------------------------
# `serve --host/--port` may differ from the config's server.host/port; the monitors' readyz check
# (monitors/checks/service.py) probes the address recorded here while the process that wrote it
# still runs (pid and start time: appliance/processes.py ProcessRecord), else the config's.

SERVED_FILE = "run/serve.json"


def _bound_address(server) -> tuple[str, int] | None:
    """The first TCP address gunicorn's master actually listens on (port 0 made a real one)."""
    for listener in getattr(server, "LISTENERS", []):
        try:
            address = listener.getsockname()
        except OSError:
            continue
        if isinstance(address, tuple) and len(address) >= 2:  # not a unix socket
            return str(address[0]), int(address[1])
    return None


def record_served(settings: config.Settings, host: str, port: int) -> None:
    """Writes run/serve.json (whole or not at all) for this process: the gunicorn master."""
    me = ProcessRecord.of(os.getpid())
    path = settings.path(SERVED_FILE)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    scheme = "https" if settings.server.tls_cert_file else "http"
    tmp.write_text(json.dumps({"host": host, "port": port, "scheme": scheme, "pid": me.pid,
                               "started": me.started}) + "\n")
    os.replace(tmp, path)


def forget_served(settings: config.Settings) -> None:
    """Removes run/serve.json when it is this process's (another `serve` may have replaced it)."""
    path = settings.path(SERVED_FILE)
    try:
        if json.loads(path.read_text()).get("pid") == os.getpid():
            path.unlink(missing_ok=True)
    except (OSError, ValueError, AttributeError):
        pass


def _metrics_dir(settings: config.Settings) -> str:
    """prometheus-client multiprocess mode: every worker writes here, /metrics merges them."""
    path = settings.home / "run" / "metrics"
    shutil.rmtree(path, ignore_errors=True)
    path.mkdir(parents=True)
    return str(path)


# -- what the workers would fail on, checked once before they fork -------------------------------

def check_start(app: CliContext) -> config.Settings:
    """Settings with the database open and migrated, the secret key readable and (when backups are
    configured) the backup key present; else a ConfigError of one sentence saying what to do."""
    settings = config.load(app.home)  # a wrong setting: its own sentence
    try:
        settings = app.settings()  # opens the database and migrates it
    except peewee.DatabaseError as e:
        raise config.ConfigError(_database_problem(settings, e)) from None
    from web import secret_key, transport
    secret_key(settings)
    check_tls(settings)
    if settings.server.metrics_token_file:
        transport.metrics_token(settings)
    if settings.backup.targets or settings.backup.replication.enabled:
        from backup import keys
        from backup.errors import BackupError
        path = settings.path(settings.backup.key_file)
        if not path.exists():
            raise config.ConfigError(
                f"Setting backup.key_file: {path} does not exist: put the backup key there from your offline "
                "copy (the line `appliance backup key export` printed on the old box; the backups need it), "
                "or on a box that has never made a backup run `appliance init` to make a new one.")
        try:
            keys.load(path)
        except (BackupError, OSError) as e:
            raise config.ConfigError(f"Setting backup.key_file: {_one_line(e)}") from None
    return settings


def check_tls(settings: config.Settings) -> None:
    """server.tls_cert_file and tls_key_file are set together and make a certificate and its key."""
    s = settings.server
    if not s.tls_cert_file and not s.tls_key_file:
        return
    if not (s.tls_cert_file and s.tls_key_file):
        missing = "tls_key_file" if s.tls_cert_file else "tls_cert_file"
        raise config.ConfigError(f"Setting server.{missing} is empty: HTTPS needs both server.tls_cert_file and "
                                 "server.tls_key_file (`appliance tls self-signed` makes a pair).")
    cert, key = settings.path(s.tls_cert_file), settings.path(s.tls_key_file)
    for name, path in (("tls_cert_file", cert), ("tls_key_file", key)):
        if not path.is_file():
            raise config.ConfigError(f"Setting server.{name}: {path} does not exist: `appliance tls self-signed` "
                                     "makes a certificate and key, or put the shop CA's there.")
    try:
        ssl.create_default_context(ssl.Purpose.CLIENT_AUTH).load_cert_chain(cert, key)
    except (ssl.SSLError, OSError) as e:
        raise config.ConfigError(f"Settings server.tls_cert_file and tls_key_file: {cert} and {key} are not a PEM "
                                 f"certificate and its private key ({_one_line(e)}).") from None


def check_address(host: str, port: int) -> None:
    """The address is free to listen on (gunicorn would retry for 5 s, log each try and exit)."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
    except socket.gaierror as e:
        raise config.ConfigError(f"Cannot listen on {host}:{port}: {e.strerror or e}: check server.host "
                                 "or --host.") from None
    family, kind, proto, _, address = infos[0]
    with socket.socket(family, kind, proto) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as gunicorn binds
        try:
            probe.bind(address)
        except OSError as e:
            what = ("is in use by another program (another `appliance serve`?): stop it or choose another "
                    "--port" if e.errno == errno.EADDRINUSE else f"cannot be used ({e.strerror or e}): "
                    "check server.host/server.port or --host/--port")
            raise config.ConfigError(f"The address {host}:{port} {what}.") from None


def _database_problem(settings: config.Settings, error: Exception) -> str:
    from appliance.db import open_database
    url = settings.database.url
    reason = _one_line(error)
    if url.startswith("sqlite:"):
        path = open_database(url, settings.home).database
        if "unable to open" in reason:
            return (f"The database {path} cannot be opened ({reason}): the file and its folder must exist and "
                    "belong to the user the service runs as.")
        return (f"The database {path} cannot be opened ({reason}): restore it with `appliance restore "
                "--force` (the damaged file is kept aside; docs/backup.md).")
    return (f"The database at database.url cannot be opened ({reason}): check that the server runs "
            "and the URL's user, password and database are right.")


def _one_line(error: Exception) -> str:
    text = getattr(error, "message", None) or str(error) or type(error).__name__
    return " ".join(text.split())


GUNICORN_SENTENCES = {
    400: "The request is not valid HTTP.",
    403: "This request is not allowed.",
    414: "The request line (method and URL) is too long.",
    417: "The Expect header cannot be met.",
    431: "The request headers are too large.",
    500: "Something went wrong on the server; nothing was saved.",
    501: "This transfer coding is not supported.",
}


def write_json_error(sock, status_int: int, reason: str, mesg: str) -> None:
    """gunicorn's answer to a request it refuses before the app sees it (an over-long URL: 414, too
    many or too large headers: 431, malformed HTTP: 400) in the one JSON error shape, not its HTML
    page. Installed in place of gunicorn.util.write_error by `command` (workers inherit it)."""
    body = json.dumps({"error": GUNICORN_SENTENCES.get(status_int, f"{reason}."),
                       "details": [{"message": mesg[:200]}]}).encode()
    head = (f"HTTP/1.1 {status_int} {reason}\r\nConnection: close\r\nContent-Type: application/json\r\n"
            f"Cache-Control: no-store\r\nX-Content-Type-Options: nosniff\r\nContent-Length: {len(body)}\r\n\r\n")
    gunicorn.util.write_nonblock(sock, head.encode("latin1") + body)


@click.command("serve")
@click.option("--host", default=None, help="Listen address (default: server.host).")
@click.option("--port", type=int, default=None, help="Port (default: server.port).")
@click.option("--workers", type=int, default=None, help="Worker processes (default: server.workers).")
@pass_app
def command(app: CliContext, host: str | None, port: int | None, workers: int | None) -> None:
    """Serve the web pages and the API with a production WSGI server."""
    gunicorn.util.write_error = write_json_error
    settings = check_start(app)  # validates config, database, keys and migrates before any worker starts
    check_address(host or settings.server.host, port or settings.server.port)
    operations.reap_interrupted(settings)  # runs a crash or kill -9 left "running" are interrupted
    runtime.close()            # workers open their own connections after the fork
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = _metrics_dir(settings)
    s = settings.server
    options = {
        "bind": f"{host or s.host}:{port or s.port}",
        "workers": workers or s.workers,
        "worker_class": "gthread",
        "threads": s.threads,
        "graceful_timeout": s.graceful_timeout_seconds,
        "timeout": max(60, s.graceful_timeout_seconds + 10),
        "keepalive": 5,
        "errorlog": "-",
        "loglevel": "info",
        "proc_name": "appliance",
        # gunicorn's control socket defaults to one path per user; two boxes on a host would collide.
        "control_socket_disable": True,
        # Whom to believe about X-Forwarded-Proto is server.trusted_proxies' call (web/transport.py), not
        # gunicorn's (it would believe any local process by default).
        "secure_scheme_headers": {},
    }
    if s.tls_cert_file:  # HTTPS served here; else plain HTTP (loopback, or behind a TLS reverse proxy)
        options |= {"certfile": str(settings.path(s.tls_cert_file)), "keyfile": str(settings.path(s.tls_key_file))}
    redirector = None
    if s.tls_cert_file and s.http_redirect_port:
        check_address(host or s.host, s.http_redirect_port)
        redirector = http_redirector(settings, host or s.host, port or s.port).start()
    writer = order_writer.Supervisor(settings) if s.order_writer else None
    if writer is not None:
        writer.start()
    # The scheduler (jobs, monitors, replica shipper) runs beside the workers, not in one of them.
    background = background_process(settings).start()
    try:
        ApplianceServer(settings, options | _hooks(settings, writer, redirector, background)).run()
    finally:
        if redirector is not None:
            redirector.stop()
        background.stop()


def http_redirector(settings: config.Settings, host: str, https_port: int) -> ChildSupervisor:
    """server.http_redirect_port's small server (web/redirect.py): gunicorn serves TLS on every bind."""
    return ChildSupervisor(
        "http redirect", [sys.executable, "-m", "web.redirect", host, str(settings.server.http_redirect_port),
                          str(https_port)],
        env={**os.environ, "APPLIANCE_HOME": str(settings.home)}, pid_file=settings.path("run/redirect.pid"),
        backoff=Backoff(first=0.5, longest=30), own_session=False)
