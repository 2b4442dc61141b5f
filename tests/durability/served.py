"""A real `appliance serve` in a subprocess, and a cheap keep-alive JSON client for it.

The home is made by `appliance init` (the way a box is set up), tokens by `appliance token create`.
The server runs in its own process group so SIGKILL/SIGTERM reach the master and every worker.
Used by tests/durability and by bench/ (the same way of running the box is measured and tested).
"""
from __future__ import annotations

import http.client
import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import psutil

from tests.servers.ports import free_port

_SCRIPT = Path(sys.executable).parent / "appliance"
# The console script of this venv; without it (not installed), the same entry point through python.
APPLIANCE = [str(_SCRIPT)] if _SCRIPT.exists() else [sys.executable, "-c", "from cli import main; main()"]
REPO = Path(__file__).resolve().parents[2]


class ServedAppliance:
    """init → token → start → (kill | stop); `stop()` is safe to call at any time, twice."""

    def __init__(self, home: Path, database_url: str | None = None, env: dict[str, str] | None = None):
        self.home = Path(home)
        self.database_url = database_url
        self.env = {**os.environ, "APPLIANCE_HOME": str(self.home), **(env or {})}
        self.env.pop("APPLIANCE_DATABASE_URL", None)
        self.proc: subprocess.Popen | None = None
        self.port: int | None = None
        self.log_path = self.home / "logs" / "serve.log"
        self._log = None

    # -- setup --------------------------------------------------------------------------------

    def cli(self, *args: str, stdin: str | None = None, timeout: float = 60) -> str:
        result = subprocess.run(APPLIANCE + ["--home", str(self.home), *args], input=stdin, capture_output=True,
                                text=True, env=self.env, cwd=REPO, timeout=timeout)
        if result.returncode != 0:
            raise RuntimeError(f"appliance {' '.join(args)} failed ({result.returncode}): {result.stderr.strip()}")
        return result.stdout

    def init(self) -> "ServedAppliance":
        args = ["init", "--admin-password-stdin"]
        if self.database_url:
            args += ["--database-url", self.database_url]
        self.cli(*args, stdin="correct-horse-battery-staple\n")
        return self

    def token(self, role: str, name: str | None = None) -> str:
        out = self.cli("token", "create", "--name", name or f"{role}-{time.monotonic_ns()}", "--role", role)
        return out.strip().splitlines()[-1]

    # -- running ------------------------------------------------------------------------------

    def start(self, workers: int = 2, threads: int | None = None, timeout: float = 30) -> "ServedAppliance":
        assert self.proc is None or self.proc.poll() is not None, "already running"
        self.port = free_port()
        args = APPLIANCE + ["--home", str(self.home), "serve", "--host", "127.0.0.1", "--port", str(self.port),
                            "--workers", str(workers)]
        env = dict(self.env)
        if threads:
            env["APPLIANCE_SERVER_THREADS"] = str(threads)
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        self._log = open(self.log_path, "ab")
        self.proc = subprocess.Popen(args, stdout=self._log, stderr=subprocess.STDOUT, env=env, cwd=REPO,
                                     start_new_session=True)
        try:
            self.wait_ready(timeout, workers)
        except BaseException:
            self.stop()
            raise
        return self

    def wait_ready(self, timeout: float, workers: int) -> None:
        """Until /readyz answers 200 and every worker is up (a real request, not an open port)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"appliance serve exited with {self.proc.returncode}: {self.log_tail()}")
            try:
                status, _, _ = Client(self.port, timeout=2).request("GET", "/readyz")
                if status == 200 and len(self.worker_pids()) >= workers:
                    return
            except OSError:
                pass
            time.sleep(0.05)
        raise RuntimeError(f"appliance serve not ready after {timeout}s: {self.log_tail()}")

    @property
    def pid(self) -> int:
        return self.proc.pid

    def worker_pids(self) -> list[int]:
        """The gunicorn web workers: the master's children but the order writer and the background process."""
        try:
            children = psutil.Process(self.proc.pid).children()
        except psutil.NoSuchProcess:
            return []
        return [c.pid for c in children if self._role(c) == "worker"]

    def writer_pid(self) -> int | None:
        """The order writer process (appliance.order_writer), if it runs."""
        return next((c.pid for c in self._children() if self._role(c) == "writer"), None)

    def background_pid(self) -> int | None:
        """The background process (cli.background: the scheduler, monitors, replica shipper), if it runs."""
        return next((c.pid for c in self._children() if self._role(c) == "background"), None)

    def scheduler_holders(self) -> list[int]:
        """Pids holding the flock on the home's run/scheduler.lock, from /proc/locks (one line per lock)."""
        lock = self.home / "run" / "scheduler.lock"
        try:
            inode = os.stat(lock).st_ino
        except FileNotFoundError:
            return []
        holders = []
        for line in Path("/proc/locks").read_text().splitlines():
            parts = line.split()
            if len(parts) >= 6 and parts[1] == "FLOCK" and parts[5].rsplit(":", 1)[-1] == str(inode):
                holders.append(int(parts[4]))
        return holders

    def scheduler_heartbeat(self) -> str | None:
        """The time the box's scheduler last wrote in its heartbeat row (every 15 s, and when it starts)."""
        con = sqlite3.connect(f"file:{self.home / 'appliance.db'}?mode=ro", uri=True, timeout=5)
        try:
            row = con.execute("SELECT value FROM key_value WHERE key = 'scheduler_heartbeat'").fetchone()
            return row[0] if row else None
        finally:
            con.close()

    def _children(self) -> list[psutil.Process]:
        try:
            return psutil.Process(self.proc.pid).children(recursive=True)
        except psutil.NoSuchProcess:
            return []

    @staticmethod
    def _role(process: psutil.Process) -> str | None:
        try:
            command = process.cmdline()
        except psutil.Error:
            return None
        if "appliance.order_writer" in command:
            return "writer"
        if "cli.background" in command:
            return "background"
        return "worker"

    def group_pids(self) -> list[int]:
        """Every live process of the server's process group (master + workers)."""
        pids = []
        for p in psutil.process_iter(["pid"]):
            try:
                if os.getpgid(p.pid) == self.proc.pid and p.status() != psutil.STATUS_ZOMBIE:
                    pids.append(p.pid)
            except (ProcessLookupError, psutil.NoSuchProcess, PermissionError):
                continue
        return pids

    def rss(self) -> dict[str, float]:
        """RSS in MB: master, every worker, their sum and the largest worker."""
        master = psutil.Process(self.proc.pid)
        workers = [w.memory_info().rss / 2**20 for w in master.children(recursive=True)]
        m = master.memory_info().rss / 2**20
        return {"master": m, "workers": workers, "total": m + sum(workers), "max_worker": max(workers, default=0)}

    def kill(self, sig: int = signal.SIGKILL, timeout: float = 10) -> None:
        """Signals the whole process group (master and workers) and waits until all are gone."""
        try:
            os.killpg(self.proc.pid, sig)
        except ProcessLookupError:
            pass
        self.proc.wait(timeout)
        deadline = time.monotonic() + timeout
        while self.group_pids() and time.monotonic() < deadline:
            time.sleep(0.02)
        self._close_log()

    def terminate(self) -> None:
        """SIGTERM to the master only (what systemd's KillMode=mixed does first)."""
        self.proc.send_signal(signal.SIGTERM)

    def wait(self, timeout: float) -> int:
        code = self.proc.wait(timeout)
        self._close_log()
        return code

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            try:
                self.proc.send_signal(signal.SIGTERM)
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                pass
        if self.proc is not None:
            try:
                os.killpg(self.proc.pid, signal.SIGKILL)  # stragglers, if any
            except (ProcessLookupError, PermissionError):
                pass
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                pass
        self._close_log()

    def _close_log(self) -> None:
        if self._log is not None:
            self._log.close()
            self._log = None

    def log_tail(self, chars: int = 3000) -> str:
        try:
            return self.log_path.read_text(errors="replace")[-chars:]
        except OSError:
            return ""

    def client(self, token: str | None = None, timeout: float = 30) -> "Client":
        return Client(self.port, token, timeout)


class Client:
    """One keep-alive HTTP/1.1 connection (use one per thread); JSON in, JSON out.

    Raises OSError (ConnectionError, http.client.RemoteDisconnected…) when the server is gone;
    the caller decides whether to reconnect (`reset()`).
    """

    def __init__(self, port: int, token: str | None = None, timeout: float = 30, host: str = "127.0.0.1"):
        self.host, self.port, self.token, self.timeout = host, port, token, timeout
        self.conn: http.client.HTTPConnection | None = None

    def reset(self) -> None:
        if self.conn is not None:
            self.conn.close()
        self.conn = None

    def request(self, method: str, path: str, body=None, headers: dict | None = None) -> tuple[int, object, dict]:
        if self.conn is None:
            self.conn = http.client.HTTPConnection(self.host, self.port, timeout=self.timeout)
        all_headers = {"Accept": "application/json"}
        if self.token:
            all_headers["Authorization"] = f"Bearer {self.token}"
        data = None
        if body is not None:
            data = json.dumps(body).encode()
            all_headers["Content-Type"] = "application/json"
        all_headers.update(headers or {})
        try:
            self.conn.request(method, path, body=data, headers=all_headers)
            response = self.conn.getresponse()
            raw = response.read()
        except (OSError, http.client.HTTPException) as e:
            self.reset()
            raise e if isinstance(e, OSError) else ConnectionError(repr(e)) from e
        if response.will_close:
            self.reset()
        ctype = response.getheader("Content-Type", "")
        payload = json.loads(raw) if raw and "json" in ctype else raw
        return response.status, payload, {k.lower(): v for k, v in response.getheaders()}

    def get(self, path: str, **kw):
        return self.request("GET", "/api/v1" + path, **kw)

    def post(self, path: str, body, **kw):
        return self.request("POST", "/api/v1" + path, body, **kw)

    def close(self) -> None:
        self.reset()


def seed_products(client: Client, stock: dict[str, int], price_cents: int = 100) -> None:
    """Creates each SKU and receives its stock onto the shop floor (manager token)."""
    for sku, qty in stock.items():
        status, body, _ = client.post("/products", {"sku": sku, "name": f"Product {sku}", "price_cents": price_cents})
        assert status == 201, (status, body)
        if qty:
            status, body, _ = client.post("/stock/receive", {"sku": sku, "qty": qty})
            assert status in (200, 201), (status, body)
