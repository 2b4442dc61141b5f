"""Every kind of backup target keeps the one contract of backup.targets.Target, against real servers
(a folder, OpenSSH's sshd, a SeaweedFS S3 server), the way restic and Litestream test their backends:
what is put is got back byte for byte, however it was put (a file, a stream, a payload still being
written) and however large (several S3 parts); stat tells the size; list names exactly the keys
under the target's root; delete removes one key and is quiet about a missing one; an object is
never seen half-written, and an upload whose source fails leaves nothing; a missing key is
MissingObject on get (naming the target and the key) and None on stat.
"""
from __future__ import annotations

import io
import sys
import threading
import uuid
from array import array
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from backup.errors import MissingObject
from backup.stream import GrowingFile
from backup.targets import Target, open_targets
from tests.servers.waiting import wait_for

from .helpers import local_target, s3_target, sftp_target

MIB = 1024 * 1024
PART_MIB = 5  # the smallest S3 part: a payload of a few parts stays quick to send
SIZES = {"empty": 0, "small": 1000, "several-parts": 2 * PART_MIB * MIB + 1234}


# -- targets of each kind ---------------------------------------------------------------------

@pytest.fixture(params=["local", "sftp", "sftp-paramiko", "s3"])
def targets_at(request, configure, home, tmp_path):
    """targets_at("shop1", "shop10") -> one open target of this kind per root, all on one server
    (one folder, one sshd, one bucket), each root of its own: a folder or a bucket prefix.
    `sftp` carries SSH with the system's ssh client, `sftp-paramiko` with paramiko."""
    kind = request.param
    place = _fresh_place(request, kind, tmp_path)
    opened: list[Target] = []

    def open_at(*roots: str) -> list[Target]:
        specs = [_spec(kind, f"{kind}-{root}", place, root, home) for root in roots]
        opened.extend(open_targets(configure(*specs)))
        return opened[-len(roots):]

    yield open_at
    for target in opened:
        target.close()


def _fresh_place(request, kind: str, tmp_path: Path):
    """Where this test's roots live: nothing any other test can see."""
    if kind == "local":
        return tmp_path / "targets"
    if kind.startswith("sftp"):
        return request.getfixturevalue("sshd_server"), f"contract-{uuid.uuid4().hex[:12]}"
    s3 = request.getfixturevalue("s3_server")
    return s3, s3.new_bucket()


def _spec(kind: str, name: str, place, root: str, home: Path) -> dict:
    if kind == "local":
        return local_target(name, place / root)
    if kind.startswith("sftp"):
        sshd, folder = place
        return sftp_target(name, sshd, f"{folder}/{root}", ssh_client="paramiko" if kind == "sftp-paramiko" else "openssh")
    s3, bucket = place
    return s3_target(name, s3, bucket, home, prefix=root, multipart_chunk_mb=PART_MIB)


@pytest.fixture
def target(targets_at) -> Target:
    return targets_at("shop1")[0]


@pytest.fixture
def reader(targets_at, target) -> Target:
    """Another target at `target`'s root, as a second box (or a restore) would open it: a target
    object is used by one thread at a time (a backup opens one per upload thread)."""
    return targets_at("shop1")[0]


# -- what the tests put -----------------------------------------------------------------------

def _bytes(size: int) -> bytes:
    """Distinct bytes at every offset, so a misplaced or repeated block cannot go unnoticed."""
    counting = array("I", range(size // 4 + 1))  # 4-byte big-endian counters, built in C
    if sys.byteorder == "little":
        counting.byteswap()
    return counting.tobytes()[:size]


def _put_file(target: Target, key: str, data: bytes, tmp_path: Path, progress) -> None:
    source = tmp_path / f"source-{uuid.uuid4().hex}"
    source.write_bytes(data)
    target.put(source, key, progress)


def _put_stream(target: Target, key: str, data: bytes, tmp_path: Path, progress) -> None:
    target.put_stream(io.BytesIO(data), key, progress)


def _put_growing_file(target: Target, key: str, data: bytes, tmp_path: Path, progress) -> None:
    """The way a backup streams its payload: read while the producer writes it."""
    payload = GrowingFile(tmp_path / f"growing-{uuid.uuid4().hex}")
    with payload.reader() as reader:
        uploading = _Background(target.put_stream, reader, key, progress)
        for start in range(0, len(data), MIB):
            payload.write(data[start:start + MIB])
        payload.finish()
        uploading.result()


PUTS = {"file": _put_file, "stream": _put_stream, "growing-file": _put_growing_file}


def _got(target: Target, key: str, tmp_path: Path, progress=None) -> bytes:
    dest = tmp_path / f"got-{uuid.uuid4().hex}"
    target.get(key, dest, progress)
    return dest.read_bytes()


class _Background:
    """fn(*args) in a thread; result() joins it and returns fn's value or raises its exception."""

    def __init__(self, fn, *args):
        self._outcome: dict = {}
        self._thread = threading.Thread(target=self._run, args=(fn, args), daemon=True)
        self._thread.start()

    def _run(self, fn, args) -> None:
        try:
            self._outcome["value"] = fn(*args)
        except BaseException as e:  # noqa: BLE001 - handed to result()
            self._outcome["error"] = e

    def result(self, timeout: float = 60):
        self._thread.join(timeout)
        assert not self._thread.is_alive(), "it never ended"
        if "error" in self._outcome:
            raise self._outcome["error"]
        return self._outcome.get("value")


class _Counter:
    """A progress callback: the increments it was given, added up (uploads call it from threads)."""

    def __init__(self):
        self.total = 0
        self._lock = threading.Lock()

    def __call__(self, increment: int) -> None:
        with self._lock:
            self.total += increment


class _FailingReader(io.RawIOBase):
    """A source that yields `good` bytes, then fails the way a disk does."""

    def __init__(self, data: bytes, good: int):
        self._data, self._good, self._offset = data, good, 0

    def readable(self) -> bool:
        return True

    def read(self, n: int = -1) -> bytes:
        if self._offset >= self._good:
            raise OSError(5, "Input/output error")
        n = self._good - self._offset if n is None or n < 0 else min(n, self._good - self._offset)
        block = self._data[self._offset:self._offset + n]
        self._offset += n
        return block


# -- put, get, stat ---------------------------------------------------------------------------

@pytest.mark.parametrize("size", SIZES.values(), ids=SIZES.keys())
@pytest.mark.parametrize("put", PUTS.values(), ids=PUTS.keys())
def test_what_is_put_is_got_back_byte_for_byte_with_progress_adding_up(target, put, size, tmp_path):
    data = _bytes(size)
    sent, received = _Counter(), _Counter()

    put(target, "b1/payload.zst.aes", data, tmp_path, sent)

    assert _got(target, "b1/payload.zst.aes", tmp_path, received) == data
    assert (sent.total, received.total) == (size, size)


def test_a_second_put_replaces_the_object(target, tmp_path):
    target.put_stream(io.BytesIO(b"first version, longer than the second"), "b1/manifest.json")
    target.put_stream(io.BytesIO(b"second"), "b1/manifest.json")

    assert _got(target, "b1/manifest.json", tmp_path) == b"second"
    assert target.list() == ["b1/manifest.json"]


def test_stat_tells_the_key_its_size_and_when_it_was_written(target):
    target.put_stream(io.BytesIO(_bytes(12345)), "b1/payload.zst.aes")

    info = target.stat("b1/payload.zst.aes")

    assert (info.key, info.size, info.locked_until) == ("b1/payload.zst.aes", 12345, None)
    now = datetime.now(timezone.utc).replace(tzinfo=None)  # naive UTC, like ObjectInfo.modified
    assert now - timedelta(minutes=5) < info.modified < now + timedelta(minutes=5)


class _Sink:
    """A sink that cannot seek (like a restore's growing file), optionally failing after `fail_after` bytes."""

    def __init__(self, fail_after: int | None = None):
        self.data, self.fail_after = bytearray(), fail_after

    def write(self, block) -> int:
        if self.fail_after is not None and len(self.data) + len(block) > self.fail_after:
            raise OSError(28, "No space left on device")
        self.data += block
        return len(block)


@pytest.mark.parametrize("size", SIZES.values(), ids=SIZES.keys())
def test_get_stream_writes_the_object_in_order_to_a_sink_that_cannot_seek(target, size):
    data = _bytes(size)
    target.put_stream(io.BytesIO(data), "b1/payload.zst.aes")
    sink, received = _Sink(), _Counter()

    target.get_stream("b1/payload.zst.aes", sink, received)

    assert bytes(sink.data) == data and received.total == size


def test_get_stream_of_an_object_of_many_parts_finishes_in_order(target):
    """boto3's download_fileobj into a sink that cannot seek deadlocked past about ten parts (a 1 GB
    restore from S3 hung): the download runs in a thread here, so a hang fails instead of waiting."""
    data = _bytes(13 * PART_MIB * MIB + 4321)
    target.put_stream(io.BytesIO(data), "b1/payload.zst.aes")
    sink = _Sink()

    done = _Background(target.get_stream, "b1/payload.zst.aes", sink)

    done.result(timeout=120)
    assert bytes(sink.data) == data


def test_a_sink_that_fails_stops_get_stream_and_the_target_still_serves(target, tmp_path):
    data = _bytes(9 * MIB)
    target.put_stream(io.BytesIO(data), "b1/payload.zst.aes")

    with pytest.raises(Exception, match="No space left on device"):
        target.get_stream("b1/payload.zst.aes", _Sink(fail_after=3 * MIB))

    assert _got(target, "b1/payload.zst.aes", tmp_path) == data


# -- missing objects ----------------------------------------------------------------------------

@pytest.mark.parametrize("key", ["b1/payload.zst.aes", "never-made/manifest.json"],
                         ids=["in-a-folder-that-exists", "in-no-folder"])
def test_a_missing_key_is_missing_object_on_get_naming_target_and_key_and_none_on_stat(target, key, tmp_path):
    target.put_stream(io.BytesIO(b"{}"), "b1/manifest.json")
    dest = tmp_path / "restored"

    with pytest.raises(MissingObject) as missing:
        target.get(key, dest)

    assert target.name in str(missing.value) and key in str(missing.value)
    assert not dest.exists()  # a failed download leaves nothing a caller could take for the object
    assert target.stat(key) is None
    sink = _Sink()
    with pytest.raises(MissingObject):
        target.get_stream(key, sink)
    assert sink.data == b""


# -- list ---------------------------------------------------------------------------------------

def test_a_target_nothing_was_put_on_lists_nothing(target):
    assert target.list() == []


def test_list_names_every_key_sorted_including_names_that_share_a_prefix(target):
    keys = ["b2/payload.zst.aes", "b1/manifest.json", "b1/payload.zst.aes", "b10/payload.zst.aes",
            "b1/payload.zst.aes.old"]
    for key in keys:
        target.put_stream(io.BytesIO(key.encode()), key)

    assert target.list() == sorted(keys)


def test_a_key_at_the_root_or_nested_deeper_lists_like_any_other(target, tmp_path):
    keys = ["top.json", "b1/manifest.json", "replica/0/0000000000000001-0000000000000001.ltx.aes"]
    for key in keys:
        target.put_stream(io.BytesIO(key.encode()), key)

    assert target.list() == sorted(keys)
    assert [_got(target, key, tmp_path) for key in keys] == [key.encode() for key in keys]


def test_targets_whose_roots_share_a_prefix_each_list_only_their_own_keys(targets_at):
    shop1, shop10 = targets_at("shop1", "shop10")
    shop1.put_stream(io.BytesIO(b"1"), "b1/manifest.json")
    shop10.put_stream(io.BytesIO(b"10"), "b10/manifest.json")

    assert (shop1.list(), shop10.list()) == (["b1/manifest.json"], ["b10/manifest.json"])


# -- delete -------------------------------------------------------------------------------------

def test_delete_removes_one_key_and_leaves_its_neighbours(target, tmp_path):
    for key in ("b1/manifest.json", "b1/payload.zst.aes", "b2/manifest.json"):
        target.put_stream(io.BytesIO(key.encode()), key)

    target.delete("b1/manifest.json")

    assert target.list() == ["b1/payload.zst.aes", "b2/manifest.json"]
    assert target.stat("b1/manifest.json") is None
    with pytest.raises(MissingObject):
        target.get("b1/manifest.json", tmp_path / "gone")
    assert _got(target, "b1/payload.zst.aes", tmp_path) == b"b1/payload.zst.aes"


def test_deleting_the_last_keys_of_a_folder_leaves_an_empty_listing(target):
    for key in ("b1/manifest.json", "b1/payload.zst.aes"):
        target.put_stream(io.BytesIO(b"x"), key)

    target.delete("b1/payload.zst.aes")
    target.delete("b1/manifest.json")

    assert target.list() == []


@pytest.mark.parametrize("key", ["b1/payload.zst.aes", "never-made/manifest.json"],
                         ids=["in-a-folder-that-exists", "in-no-folder"])
def test_deleting_a_missing_key_is_quietly_nothing(target, key):
    target.put_stream(io.BytesIO(b"{}"), "b1/manifest.json")

    target.delete(key)

    assert target.list() == ["b1/manifest.json"]


# -- atomic visibility --------------------------------------------------------------------------

def _upload_in_flight(target: Target, key: str, tmp_path: Path, written: bytes):
    """A put_stream of a payload still being written, once the target has taken more than one
    part of it (so an S3 multipart upload has begun): (payload, upload)."""
    payload = GrowingFile(tmp_path / f"in-flight-{uuid.uuid4().hex}")
    sent = _Counter()
    payload.write(written)

    def send() -> None:
        with payload.reader() as source:
            target.put_stream(source, key, sent)

    upload = _Background(send)
    wait_for(lambda: sent.total >= PART_MIB * MIB, timeout=30, what="the first part to reach the target")
    return payload, upload


def _assert_not_there(target: Target, key: str, tmp_path: Path) -> None:
    assert key not in target.list()
    assert target.stat(key) is None
    with pytest.raises(MissingObject):
        target.get(key, tmp_path / f"not-there-{uuid.uuid4().hex}")


def test_an_object_being_uploaded_is_not_there_until_it_is_whole(target, reader, tmp_path):
    data = _bytes(2 * PART_MIB * MIB + 1234)
    payload, upload = _upload_in_flight(target, "b1/payload.zst.aes", tmp_path, data[:7 * MIB])

    _assert_not_there(reader, "b1/payload.zst.aes", tmp_path)

    payload.write(data[7 * MIB:])
    payload.finish()
    upload.result()
    assert _got(reader, "b1/payload.zst.aes", tmp_path) == data


def test_while_a_new_version_is_uploaded_readers_get_the_old_one_whole(target, reader, tmp_path):
    old = _bytes(3000)
    target.put_stream(io.BytesIO(old), "b1/payload.zst.aes")
    payload, upload = _upload_in_flight(target, "b1/payload.zst.aes", tmp_path, _bytes(7 * MIB))

    assert _got(reader, "b1/payload.zst.aes", tmp_path) == old
    assert reader.stat("b1/payload.zst.aes").size == len(old)

    payload.finish()
    upload.result()
    assert reader.stat("b1/payload.zst.aes").size == 7 * MIB


def test_an_upload_whose_payload_is_abandoned_midway_leaves_nothing(target, tmp_path):
    target.put_stream(io.BytesIO(b"{}"), "b0/manifest.json")
    payload, upload = _upload_in_flight(target, "b1/payload.zst.aes", tmp_path, _bytes(7 * MIB))

    payload.abort("No space left on device")

    with pytest.raises(Exception, match="No space left on device"):
        upload.result()
    assert target.list() == ["b0/manifest.json"]
    _assert_not_there(target, "b1/payload.zst.aes", tmp_path)


def test_an_upload_whose_source_fails_midway_leaves_nothing(target, tmp_path):
    target.put_stream(io.BytesIO(b"{}"), "b0/manifest.json")
    failing = _FailingReader(_bytes(8 * MIB), good=7 * MIB)

    with pytest.raises(Exception, match="Input/output error"):
        target.put_stream(failing, "b1/payload.zst.aes")

    assert target.list() == ["b0/manifest.json"]
    _assert_not_there(target, "b1/payload.zst.aes", tmp_path)
