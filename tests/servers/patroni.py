"""Real Patroni nodes on 127.0.0.1 (the `patroni` package from PyPI, Debian's PostgreSQL), each run as
the `postgres` user (PostgreSQL refuses root) with the config `appliance failover patroni-config`
wrote. Stopped with SIGKILL of the node's whole process group (Patroni and its PostgreSQL), as a
box that dies would."""
from __future__ import annotations

import json
import os
import pwd
import signal
import subprocess
import sys
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from .required import need


def python_for_postgres() -> tuple[str, dict]:
    """A Python the `postgres` user may run, with this venv's packages: the venv's own interpreter
    may live under /root (pyenv), which postgres cannot enter; Debian's python3 of the same minor
    version reads the same wheels."""
    site = next(p for p in sys.path if p.endswith("site-packages"))
    version = f"python{sys.version_info.major}.{sys.version_info.minor}"
    for candidate in (f"/usr/bin/{version}", sys.executable):
        if _runs_as_postgres(candidate):
            return candidate, {"PYTHONPATH": site}
    need(f"/usr/bin/{version}", "Patroni runs as the postgres user, who needs a Python of this version to run")


def _runs_as_postgres(python: str) -> bool:
    try:
        return subprocess.run(["runuser", "-u", "postgres", "--", python, "-c", "pass"], capture_output=True,
                              timeout=10).returncode == 0
    except (OSError, subprocess.TimeoutExpired):
        return False


def owned_by_postgres(folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    user = pwd.getpwnam("postgres")
    os.chown(folder, user.pw_uid, user.pw_gid)
    return folder


@dataclass
class PatroniNode:
    name: str
    config: Path
    rest_api: str
    log: Path
    process: subprocess.Popen | None = None

    def start(self) -> "PatroniNode":
        python, extra = python_for_postgres()
        out = open(self.log, "ab")
        self.process = subprocess.Popen(
            # -S: without Debian's dist-packages (its pyOpenSSL does not match the venv's cryptography)
            ["runuser", "-u", "postgres", "--", python, "-S", "-m", "patroni", str(self.config)],
            env={**os.environ, **extra}, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
        out.close()
        return self

    def role(self) -> str | None:
        """This node's role as its own REST API says it (leader, sync_standby, replica), or None."""
        if self.process is not None and self.process.poll() is not None:
            raise AssertionError(f"Patroni on {self.name} exited ({self.process.returncode}):\n{self.log_tail()}")
        try:
            with urllib.request.urlopen(f"http://{self.rest_api}/patroni", timeout=1) as answer:
                body = json.loads(answer.read())
        except (OSError, ValueError):
            return None
        if body.get("role") in ("primary", "master"):
            return "leader"
        return "sync_standby" if body.get("sync_standby") else body.get("role")

    def kill(self) -> None:
        """SIGKILL to Patroni and every PostgreSQL process it started: the box died."""
        if self.process is None:
            return
        try:
            os.killpg(self.process.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        # PostgreSQL's postmaster detaches into its own session: find it by its data folder
        subprocess.run(["pkill", "-KILL", "-u", "postgres", "-f", str(self.config.parent / "data")], check=False)
        self.process.wait(timeout=10)
        self.process = None

    def log_tail(self, lines: int = 30) -> str:
        try:
            return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""
