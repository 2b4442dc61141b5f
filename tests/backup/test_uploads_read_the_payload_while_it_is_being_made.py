"""Uploads read the payload while it is being made: readers wait for the producer, see the end only
when the payload is finished, and fail when it is not; a backup whose payload fails halfway leaves
nothing on any target; the SFTP target negotiates AES-GCM and the server's larger write size."""
from __future__ import annotations

import threading
import time

import pytest

from backup import archive
from backup.models import BackupSet
from backup.run import run_backup
from backup.stream import GrowingFile, ProductionFailed
from backup.targets import backups_on, open_targets
from backup.targets import openssh
from backup.targets import sftp as sftp_module

from .helpers import add_incompressible_rows, local_target, s3_target, sftp_target


def _later(delay: float, fn, *args) -> threading.Thread:
    def run() -> None:
        time.sleep(delay)
        fn(*args)
    thread = threading.Thread(target=run)
    thread.start()
    return thread


def test_a_reader_waits_for_the_producer_and_sees_the_end_only_when_the_payload_is_finished(tmp_path):
    payload = GrowingFile(tmp_path / "payload")
    payload.write(b"a" * 10)
    reader = payload.reader()
    assert reader.read(4) == b"aaaa"  # available: no wait
    writer = _later(0.2, lambda: (payload.write(b"b" * 10), payload.finish()))
    started = time.monotonic()
    assert reader.read(10) == b"aaaaaabbbb"  # waited for the producer, then exactly n bytes
    assert time.monotonic() - started >= 0.15
    assert reader.read(100) == b"bbbbbb"  # the end: fewer than asked
    assert reader.read(100) == b""
    writer.join()


def test_every_reader_fails_when_the_producer_aborts(tmp_path):
    payload = GrowingFile(tmp_path / "payload")
    payload.write(b"x" * 100)
    first, second = payload.reader(), payload.reader()
    aborter = _later(0.1, payload.abort, "disk full")
    with pytest.raises(ProductionFailed, match="disk full"):
        first.read(1000)  # never sees a (false) end of file
    aborter.join()
    with pytest.raises(ProductionFailed):
        second.read(10)


def test_parts_are_handed_out_as_soon_as_they_are_complete_and_the_last_one_is_shorter(tmp_path):
    payload = GrowingFile(tmp_path / "payload")
    reader = payload.reader()
    parts = reader.parts(4)
    payload.write(b"0123456")
    assert next(parts) == (0, 4)  # complete while the producer goes on
    _later(0.1, lambda: (payload.write(b"789"), payload.finish()))
    assert list(parts) == [(4, 4), (8, 2)]
    window = reader.window(4, 4)
    assert window.read(3) == b"456" and window.read() == b"7"
    window.seek(0)
    assert window.read() == b"4567"  # seekable: a part can be re-read (signing, retries)


def test_a_payload_that_fails_halfway_leaves_nothing_on_any_target(
        settings, db, configure, home, tmp_path, sshd_server, s3_server, monkeypatch):
    add_incompressible_rows(12 * 1024 * 1024)
    bucket = s3_server.new_bucket()
    settings = configure(local_target("disk", tmp_path / "disk"), sftp_target("nas", sshd_server, "halfway"),
                         s3_target("offsite", s3_server, bucket, home, multipart_chunk_mb=5))
    write = archive._CountingWriter.write

    def fail_after_8_mib(self, data):
        if self.size > 8 * 1024 * 1024:  # parts of it are uploaded by now (one S3 part is 5 MiB)
            raise OSError(28, "No space left on device")
        return write(self, data)
    monkeypatch.setattr(archive._CountingWriter, "write", fail_after_8_mib)

    with pytest.raises(OSError, match="No space left"):
        run_backup(settings, show_progress=False)

    assert BackupSet.select().count() == 0
    for target in open_targets(settings):
        assert backups_on(target.list()) == ([], [])
    assert not any(p.is_file() for p in (tmp_path / "disk").rglob("*"))  # the .partial file was removed
    assert not any(p.is_file() for p in (sshd_server.root / "halfway").rglob("*"))
    client = s3_server.client()
    assert client.list_objects_v2(Bucket=bucket).get("KeyCount", 0) == 0
    assert client.list_multipart_uploads(Bucket=bucket).get("Uploads", []) == []  # aborted


@pytest.mark.parametrize("client", ["openssh", "paramiko"])
def test_the_sftp_target_negotiates_aes_gcm_and_the_servers_larger_request_sizes(configure, sshd_server, client):
    settings = configure(sftp_target("nas", sshd_server, "negotiated", ssh_client=client))
    nas = open_targets(settings)[0]
    try:
        nas.list()
        if client == "paramiko":
            assert nas._client.get_transport().local_cipher.endswith("-gcm@openssh.com")
        else:  # the ssh client's own choice, with AES-GCM moved first
            assert f"Ciphers={openssh.CIPHERS}" in nas._sftp.sock.process.args and openssh.CIPHERS.startswith("^aes128-gcm")
        # OpenSSH states 255 KiB for both (limits@openssh.com)
        assert (nas._read_size, nas._write_size) == (sftp_module.MAX_REQUEST, sftp_module.MAX_REQUEST)
    finally:
        nas.close()


def test_a_server_that_does_not_state_its_limits_gets_32_kib_reads_and_writes():
    class Plain:  # e.g. not OpenSSH: the extension is unsupported
        def _request(self, *args):
            raise IOError("Operation unsupported")
    assert sftp_module._request_sizes(Plain()) == (sftp_module.SAFE_REQUEST,) * 2 == (32 * 1024,) * 2
