"""A restore's payload goes from the download to the decoding through a MemoryPipe (backup.stream),
not a scratch file: reads return exactly what was asked across the writes' pieces, the download
waits while the pipe holds its limit, a reader that gives up stops the download, a failed download
fails the reader, and nothing is written to the restore's working folder."""
from __future__ import annotations

import threading
import time

import pytest

from backup import stream
from backup.restore import restore
from backup.run import run_backup
from backup.stream import MemoryPipe, ProductionFailed

from .helpers import local_target


def test_reads_return_exactly_the_bytes_asked_for_across_writes_then_eof():
    pipe = MemoryPipe(limit=1000)
    for piece in (b"abc", bytearray(b"defgh"), memoryview(b"ij")):
        pipe.write(piece)
    pipe.finish()
    assert pipe.read(4) == b"abcd"
    assert pipe.read(5) == b"efghi"
    assert pipe.read(100) == b"j"
    assert pipe.read(1) == b""


def test_the_writer_waits_while_the_pipe_holds_its_limit_and_resumes_once_read():
    pipe = MemoryPipe(limit=10)
    pipe.write(b"x" * 8)
    wrote = threading.Event()
    writer = threading.Thread(target=lambda: (pipe.write(b"y" * 8), wrote.set()))
    writer.start()
    time.sleep(0.1)
    assert not wrote.is_set()  # 16 bytes would be over the limit
    assert pipe.read(8) == b"x" * 8
    writer.join(2)
    assert wrote.is_set()
    assert pipe.read(8) == b"y" * 8
    pipe.write(b"z" * 50)  # one write larger than the limit is taken whole into an empty pipe
    pipe.finish()
    assert pipe.read(-1) == b"z" * 50


def test_a_reader_that_gives_up_stops_the_writer_and_a_failed_writer_fails_the_reader():
    pipe = MemoryPipe(limit=4)
    pipe.write(b"full")
    failed: list[Exception] = []

    def write() -> None:
        try:
            pipe.write(b"more")
        except ProductionFailed as e:
            failed.append(e)

    writer = threading.Thread(target=write)
    writer.start()
    pipe.cancel("the reader stopped reading")
    writer.join(2)
    assert failed and "the reader stopped reading" in str(failed[0])

    aborted = MemoryPipe(limit=100)
    aborted.write(b"part")
    aborted.abort("connection reset")
    with pytest.raises(ProductionFailed, match="connection reset"):
        aborted.read(10)


def test_a_restore_writes_no_scratch_copy_of_the_payload(shop, configure, tmp_path, monkeypatch):
    settings = configure(local_target("disk", tmp_path / "disk"))
    run_backup(settings, show_progress=False)
    scratch: list[str] = []
    real_init = stream.GrowingFile.__init__

    def noted(self, path):
        scratch.append(str(path))
        real_init(self, path)

    monkeypatch.setattr(stream.GrowingFile, "__init__", noted)
    report = restore(settings, target="disk", output=str(tmp_path / "restored.db"), show_progress=False)
    assert report.counts["orders"] > 0
    assert scratch == []
