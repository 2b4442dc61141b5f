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
import uuid
from dataclasses import dataclass
from pathlib import Path

from .postgres import find_bin_dir
from .required import need

APPLIANCE = str(Path(sys.executable).parent / "appliance")
# The two passwords are the same on both boxes (docs/failover-postgresql.md, step 3)
SUPERUSER_PASSWORD = "pair-" + uuid.uuid4().hex
REPLICATION_PASSWORD = "replication-" + uuid.uuid4().hex
# The fastest timings Patroni accepts (TTL 20 s is its minimum) within its rule loop + 2 x retry <= TTL
FAST_TIMINGS = {"ttl_seconds": 20, "loop_wait_seconds": 1, "retry_timeout_seconds": 3}


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


def loopback_addresses(password: str) -> tuple[dict[str, str], dict[str, int], str]:
    """box-a's and box-b's Patroni REST APIs and PostgreSQL ports on 127.0.0.1 (free ports), and the
    multi-host URL over both that the appliance writes through."""
    from .ports import free_port
    rest = {name: f"127.0.0.1:{free_port()}" for name in ("box-a", "box-b")}
    pg = {name: free_port() for name in ("box-a", "box-b")}
    url = (f"postgresql://postgres:{password}@127.0.0.1:{pg['box-a']},127.0.0.1:{pg['box-b']}/postgres"
           "?target_session_attrs=read-write&connect_timeout=2")
    return rest, pg, url


def patroni_box(home: Path, folder: Path, name: str, etcd: list[str], rest: dict[str, str], postgres_address: str,
                url: str, timings: dict | None = None) -> "PatroniNode":
    """Makes `home` (an initialised appliance home) a box of a Patroni pair writing through the
    multi-host `url`: the password files, [failover] engine = "patroni" with this box's REST API
    (`rest[name]`) and PostgreSQL address, then `appliance failover patroni-config` writes its Patroni
    YAML in `folder` (owned by postgres, its data folder inside). Returns the node, not started."""
    (home / "keys" / "pg-superuser.secret").write_text(SUPERUSER_PASSWORD + "\n")
    (home / "keys" / "pg-replication.secret").write_text(REPLICATION_PASSWORD + "\n")
    owned_by_postgres(folder)
    toml = home / "appliance.toml"
    text = toml.read_text()
    assert 'url = "sqlite:///appliance.db"' in text, "the home's database.url is not the one `appliance init` writes"
    toml.write_text(text.replace('url = "sqlite:///appliance.db"', f"url = {json.dumps(url)}", 1))
    timing_lines = "".join(f"{k} = {v}\n" for k, v in (timings or FAST_TIMINGS).items())
    with open(toml, "a") as f:
        f.write(f"\n[failover]\nenabled = true\nengine = \"patroni\"\nname = \"{name}\"\n"
                f"etcd_endpoints = {json.dumps(etcd)}\n"
                f"\n[failover.patroni]\nrest_api = \"{rest[name]}\"\nmembers_rest_api = {json.dumps(list(rest.values()))}\n"
                f"postgres_address = \"{postgres_address}\"\ndata_dir = \"{folder / 'data'}\"\n"
                f"bin_dir = \"{find_bin_dir()}\"\n{timing_lines}")
    written = subprocess.run([APPLIANCE, "failover", "patroni-config", "--output", str(folder / "patroni.yml")],
                             env={**os.environ, "APPLIANCE_HOME": str(home)}, capture_output=True, text=True)
    assert written.returncode == 0, written.stderr
    assert oct((folder / "patroni.yml").stat().st_mode)[-3:] == "600"
    return PatroniNode(name, folder / "patroni.yml", rest[name], folder / "patroni.log")


@dataclass
class PatroniNode:
    name: str
    config: Path
    rest_api: str
    log: Path
    process: subprocess.Popen | None = None

    def command(self) -> tuple[list[str], dict]:
        """Patroni as the postgres user: its command line and environment (the namespace rig runs it
        in a box's namespace, tests/failover/pg_rig.py)."""
        python, extra = python_for_postgres()
        # -S: without Debian's dist-packages (its pyOpenSSL does not match the venv's cryptography)
        return (["runuser", "-u", "postgres", "--", python, "-S", "-m", "patroni", str(self.config)],
                {**os.environ, **extra})

    def start(self) -> "PatroniNode":
        args, env = self.command()
        out = open(self.log, "ab")
        self.process = subprocess.Popen(args, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
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

    def wait_for_role(self, role: str, timeout: float = 60) -> None:
        """Until this node says it is `role`; the failure shows the end of its Patroni log."""
        from .waiting import wait_for
        try:
            wait_for(lambda: self.role() == role, timeout, f"{self.name} to be {role}", step=0.2)
        except AssertionError as e:
            raise AssertionError(f"{e}\n{self.name}'s Patroni log:\n{self.log_tail()}") from None

    def log_tail(self, lines: int = 30) -> str:
        try:
            return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""
