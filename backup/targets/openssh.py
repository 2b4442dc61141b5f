"""An SFTP session carried by the system's OpenSSH client: `ssh -s … sftp` runs in its own process
and does the SSH transport (key exchange, encryption, MAC) in C; paramiko's SFTPClient speaks SFTP
over the process's pipes, as OpenSSH's own `sftp` does.

Why: with paramiko doing the transport too, a 1 GB download costs the appliance's process about
6 s of CPU, held under the GIL, which the restore's decryption and decompression then wait for
(bench drill: SFTP restore 1.4-1.9x restic's). Over `ssh` it costs ~1.7 s, and the transport's
share runs on the other core.

The host key check is OpenSSH's: `StrictHostKeyChecking=yes` against a known_hosts file holding only
the pinned key (written for the connection, removed once it is up), no other configuration file
(`-F /dev/null`), no agent, only the target's key file, and no prompt (`BatchMode`).
"""
from __future__ import annotations

import math
import os
import select
import shutil
import socket
import subprocess
import tempfile
from pathlib import Path

import paramiko

from appliance.processes import share_cpu_at

# AES-GCM first (hardware AES): OpenSSH prefers chacha20-poly1305, ~2x the CPU per byte here.
CIPHERS = "^aes128-gcm@openssh.com,aes256-gcm@openssh.com"
EXIT_WAIT_SECONDS = 3


class SshFailed(Exception):
    """The `ssh` client could not open the session; `host_key` when the server's key is not the pinned one."""

    def __init__(self, reason: str, host_key: bool = False):
        super().__init__(reason)
        self.reason, self.host_key = reason, host_key


def ssh_binary() -> str | None:
    return shutil.which("ssh")


class _Pipe:
    """The socket paramiko's SFTPClient reads and writes (what it asks of a Channel)."""

    def __init__(self, sock: socket.socket, process: subprocess.Popen):
        self._sock, self.process = sock, process

    def send(self, data) -> int:
        return self._sock.send(data)

    def recv(self, n: int) -> bytes:
        return self._sock.recv(n)

    def recv_ready(self) -> bool:
        """Answers are waiting (paramiko's pipelined writes collect them every 100 requests)."""
        return bool(select.select([self._sock], [], [], 0)[0])

    def settimeout(self, seconds: float | None) -> None:
        self._sock.settimeout(seconds)

    def get_name(self) -> str:
        return "ssh"

    def close(self) -> None:
        """EOF on ssh's stdin ends the session; a client that does not leave is killed."""
        self._sock.close()
        try:
            self.process.wait(EXIT_WAIT_SECONDS)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        if self.process.stderr:
            self.process.stderr.close()


def open_sftp(cfg, key_file: Path, binary: str) -> paramiko.SFTPClient:
    """An SFTP session to the target `cfg` over `ssh`; SshFailed with ssh's own words when it fails."""
    known_hosts = _known_hosts(cfg)
    ours, theirs = socket.socketpair()
    try:
        process = subprocess.Popen(_argv(cfg, key_file, binary, known_hosts), stdin=theirs, stdout=theirs,
                                   stderr=subprocess.PIPE, env=_environment(), start_new_session=True)
        share_cpu_at(process.pid)  # ssh's encryption at a background job's share, not a session's own
    except OSError as e:
        ours.close()
        os.unlink(known_hosts)
        raise SshFailed(f"cannot run {binary}: {e.strerror or e}") from None
    finally:
        theirs.close()
    pipe = _Pipe(ours, process)
    pipe.settimeout(cfg.timeout_seconds)
    try:
        return paramiko.SFTPClient(pipe)  # the version exchange: the session is up once it answers
    except (paramiko.SSHException, EOFError, OSError) as e:
        ours.close()  # a client still waiting for the server exits on EOF (or is killed)
        raise _failure(process, e) from None
    finally:
        os.unlink(known_hosts)  # read by ssh during the key exchange, which is over either way


def _argv(cfg, key_file: Path, binary: str, known_hosts: str) -> list[str]:
    options = {
        "BatchMode": "yes", "IdentitiesOnly": "yes", "IdentityAgent": "none", "PasswordAuthentication": "no",
        "KbdInteractiveAuthentication": "no", "StrictHostKeyChecking": "yes", "UserKnownHostsFile": known_hosts,
        "GlobalKnownHostsFile": "/dev/null", "UpdateHostKeys": "no", "CheckHostIP": "no",
        "ConnectTimeout": str(max(1, math.ceil(cfg.timeout_seconds))), "ServerAliveInterval": "15",
        "ServerAliveCountMax": "2", "Ciphers": CIPHERS, "LogLevel": "ERROR", "ControlMaster": "no",
        "ControlPath": "none", "ForwardAgent": "no", "ForwardX11": "no", "ClearAllForwardings": "yes",
    }
    argv = [binary, "-F", "/dev/null", "-p", str(cfg.port), "-l", cfg.user, "-i", str(key_file), "-T", "-s"]
    for name, value in options.items():
        argv += ["-o", f"{name}={value}"]
    return argv + ["--", cfg.host, "sftp"]


def _known_hosts(cfg) -> str:
    entry = cfg.host if cfg.port == 22 else f"[{cfg.host}]:{cfg.port}"
    fd, path = tempfile.mkstemp(prefix="appliance-known-hosts-")
    with os.fdopen(fd, "w") as f:
        f.write(f"{entry} {' '.join(cfg.host_key.split()[:2])}\n")
    return path


def _environment() -> dict[str, str]:
    """No agent and no askpass: only the target's key file may authenticate."""
    return {k: v for k, v in os.environ.items() if k not in ("SSH_AUTH_SOCK", "SSH_ASKPASS", "DISPLAY")}


def _failure(process: subprocess.Popen, error: BaseException) -> SshFailed:
    try:
        process.wait(EXIT_WAIT_SECONDS)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
    said = process.stderr.read().decode(errors="replace") if process.stderr else ""
    if process.stderr:
        process.stderr.close()
    lines = [line.strip() for line in said.splitlines() if line.strip() and not line.startswith("@")]
    if "Host key verification failed" in said or "REMOTE HOST IDENTIFICATION HAS CHANGED" in said:
        return SshFailed("the host key is not the pinned one", host_key=True)
    if isinstance(error, socket.timeout):
        return SshFailed(lines[-1].rstrip(".") if lines else "timed out")
    return SshFailed(lines[-1].rstrip(".") if lines else str(error) or type(error).__name__)
