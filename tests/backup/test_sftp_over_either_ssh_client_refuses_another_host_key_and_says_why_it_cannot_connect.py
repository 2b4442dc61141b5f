"""An sftp target's SSH connection is carried by the system's `ssh` client (`ssh_client = "auto"` or
"openssh") or by paramiko: either way only the pinned host key is accepted, a failure is one sentence
naming the target and the reason, and nothing is left behind (no ssh process, no known_hosts file)."""
from __future__ import annotations

import glob
import io
import subprocess
import tempfile
from pathlib import Path

import psutil
import pytest

from backup.errors import TargetUnavailable
from backup.targets import open_targets

from tests.servers.ports import free_port

from .helpers import sftp_target

IMPOSTOR_KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIA6B5yOcXgiLo1lZ3qC5yB4Ts6r6Bb5Cz6kx8nD9Vd0m"
CLIENTS = ["openssh", "paramiko"]


def _ssh_children() -> list[psutil.Process]:
    return [p for p in psutil.Process().children(recursive=True) if p.name() == "ssh"]


def _known_hosts_files(folder: Path) -> set[str]:
    return set(glob.glob(f"{folder}/appliance-known-hosts-*"))


def _open(configure, **spec):
    return open_targets(configure(spec))[0]


@pytest.mark.parametrize("client", CLIENTS)
def test_a_server_with_another_host_key_is_refused(configure, sshd_server, client, tmp_path, monkeypatch):
    # The client's temporary known_hosts files go to a folder of this test's own: in /tmp, other
    # tests' SFTP clients (the failover tests run beside the rest) make and remove theirs meanwhile.
    temporary = tmp_path / "tmp"
    temporary.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(temporary))
    target = _open(configure, **sftp_target("nas", sshd_server, "impostor", host_key=IMPOSTOR_KEY, ssh_client=client))

    with pytest.raises(TargetUnavailable) as refused:
        target.list()

    assert "the host key of 127.0.0.1" in refused.value.message and "is not the pinned one" in refused.value.message
    assert not (sshd_server.root / "impostor").exists()
    assert _ssh_children() == [] and _known_hosts_files(temporary) == set()


@pytest.mark.parametrize("client", CLIENTS)
def test_a_key_the_server_does_not_know_is_refused_with_the_reason(configure, sshd_server, tmp_path, client):
    stranger = tmp_path / "stranger_ed25519"
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(stranger)], check=True)
    target = _open(configure, **sftp_target("nas", sshd_server, "stranger", key_file=str(stranger), ssh_client=client))

    with pytest.raises(TargetUnavailable) as refused:
        target.put_stream(io.BytesIO(b"x"), "a/b")

    said = refused.value.message
    assert said.startswith(f"Target nas: cannot connect to 127.0.0.1:{sshd_server.port}: ") and said.endswith(".")
    assert "denied" in said.lower() or "authentication" in said.lower()
    assert _ssh_children() == []


@pytest.mark.parametrize("client", CLIENTS)
def test_a_port_nobody_listens_on_is_one_sentence(configure, sshd_server, client):
    port = free_port()
    target = _open(configure, **{**sftp_target("nas", sshd_server, "nowhere", ssh_client=client), "port": port})

    with pytest.raises(TargetUnavailable) as refused:
        target.stat("x")

    assert refused.value.message.startswith(f"Target nas: cannot connect to 127.0.0.1:{port}: ")
    assert "refused" in refused.value.message.lower() or "unable to connect" in refused.value.message.lower()
    assert _ssh_children() == []


def test_openssh_asked_for_without_an_ssh_client_says_so(configure, sshd_server, monkeypatch):
    monkeypatch.setenv("PATH", "/nonexistent")
    target = _open(configure, **sftp_target("nas", sshd_server, "no-client", ssh_client="openssh"))

    with pytest.raises(TargetUnavailable) as refused:
        target.list()

    assert "no `ssh` client is installed" in refused.value.message


def test_auto_uses_the_ssh_client_and_closing_the_target_ends_it(configure, sshd_server):
    target = _open(configure, **sftp_target("nas", sshd_server, "auto"))
    target.put_stream(io.BytesIO(b"hello"), "k")

    assert [p.cmdline()[-1] for p in _ssh_children()] == ["sftp"]
    target.close()
    assert _ssh_children() == []
