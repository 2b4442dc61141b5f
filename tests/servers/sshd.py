"""A real OpenSSH sshd on 127.0.0.1 for SFTP tests: own host key, key-only auth, stopped by PID.

`start_sshd(folder)` can also be used by one test on its own (e.g. to stop it mid-backup);
`sshd_server` is the shared, session-wide one.
"""
from __future__ import annotations

import os
import shutil
import signal
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

import paramiko
import pytest

from .ports import free_port
from .required import need

SSHD = "/usr/sbin/sshd"


def _keygen(path: Path) -> None:
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(path)], check=True)


@dataclass
class Sshd:
    folder: Path
    port: int
    host_key: str          # "ssh-ed25519 AAAA…", as pinned in config
    client_key: Path       # private key of the user
    user: str
    process: subprocess.Popen | None = None

    @property
    def root(self) -> Path:
        """Where tests point their sftp target (a folder on the same machine)."""
        return self.folder / "data"

    def start(self) -> "Sshd":
        self.process = subprocess.Popen([SSHD, "-D", "-e", "-f", str(self.folder / "sshd_config")],
                                        stdout=subprocess.DEVNULL, stderr=open(self.folder / "sshd.log", "ab"))
        self._wait_ready()
        return self

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            # The sessions it forked too (they would outlive the listener): the server is gone.
            import psutil
            sessions = psutil.Process(self.process.pid).children(recursive=True)
            self.process.send_signal(signal.SIGTERM)
            self.process.wait(5)
            for session in sessions:
                try:
                    session.kill()
                except psutil.NoSuchProcess:
                    pass
        self.process = None

    def _wait_ready(self, timeout: float = 10) -> None:
        deadline = time.monotonic() + timeout
        last = None
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"sshd exited: {(self.folder / 'sshd.log').read_text()[-500:]}")
            try:
                self.sftp_listdir(".")
                return
            except Exception as e:  # not listening yet
                last = e
                time.sleep(0.05)
        raise RuntimeError(f"sshd not ready: {last}")

    def sftp_listdir(self, path: str) -> list[str]:
        """A real SFTP operation, with the pinned host key."""
        client = paramiko.SSHClient()
        client.set_missing_host_key_policy(paramiko.RejectPolicy())
        kind, b64 = self.host_key.split()[:2]
        client.get_host_keys().add(f"[127.0.0.1]:{self.port}", kind,
                                   paramiko.PKey.from_type_string(kind, __import__("base64").b64decode(b64)))
        client.connect("127.0.0.1", self.port, self.user, key_filename=str(self.client_key),
                       look_for_keys=False, allow_agent=False, timeout=2)
        try:
            return client.open_sftp().listdir(path)
        finally:
            client.close()


def start_sshd(folder: Path) -> Sshd:
    if not Path(SSHD).exists():
        need("sshd", f"{SSHD} is missing: apt-get install openssh-server (./dev test does)")
    folder.mkdir(parents=True, exist_ok=True)
    Path("/run/sshd").mkdir(parents=True, exist_ok=True)  # privilege separation directory
    _keygen(folder / "host_ed25519")
    _keygen(folder / "client_ed25519")
    shutil.copy(folder / "client_ed25519.pub", folder / "authorized_keys")
    (folder / "data").mkdir(exist_ok=True)
    port = free_port()
    (folder / "sshd_config").write_text(f"""ListenAddress 127.0.0.1
Port {port}
HostKey {folder}/host_ed25519
PidFile {folder}/sshd.pid
AuthorizedKeysFile {folder}/authorized_keys
PermitRootLogin prohibit-password
PasswordAuthentication no
KbdInteractiveAuthentication no
UsePAM no
StrictModes no
Subsystem sftp internal-sftp
""")
    host_key = " ".join((folder / "host_ed25519.pub").read_text().split()[:2])
    user = os.environ.get("USER") or "root"
    return Sshd(folder, port, host_key, folder / "client_ed25519", user).start()


@pytest.fixture(scope="session")
def sshd_server(tmp_path_factory) -> Sshd:
    server = start_sshd(tmp_path_factory.mktemp("sshd"))
    yield server
    server.stop()
