"""Format 3 (records of any size, a zstd frame each in a backup payload) keeps every guarantee of the
chunked formats: truncation, reordering, dropped records, the wrong key, a changed header, length or
byte, bytes after the end and a file opened as another all fail; and a payload of many frames,
decoded on several threads each writing at its own offset (past the page cache where it can),
restores identical."""
from __future__ import annotations

import io
import os
import struct

import pytest

from backup import archive, crypto, keys
from backup.errors import CorruptCopy

KEY = keys.from_master(os.urandom(32))
MAX = 4096
H = crypto.HEADER.size


def _seal(records: list[bytes], context: bytes = b"") -> bytes:
    out = io.BytesIO()
    writer = crypto.RecordWriter(out, KEY.encryption, MAX, context)
    for record in records:
        writer.write_record(record)
    writer.close()
    return out.getvalue()


def _open(blob: bytes, key=KEY, context: bytes = b"") -> list[bytes]:
    source = io.BytesIO(blob)
    header = crypto.read_header(source, key.encryption, "test", context=context)
    return list(crypto.decrypt_records(source, header, "test"))


def _spans(blob: bytes) -> list[tuple[int, int]]:
    """(start, end) of each record (its length field included) after the header."""
    spans, at = [], H
    while at < len(blob):
        (size,) = struct.unpack(">I", blob[at:at + 4])
        spans.append((at, at + 4 + size))
        at += 4 + size
    return spans


@pytest.mark.parametrize("sizes", [[], [1], [MAX], [10, MAX, 3, 700]])
def test_records_of_any_size_round_trip_in_order(sizes):
    records = [os.urandom(n) for n in sizes]
    blob = _seal(records)
    assert crypto.format_of(blob) == 3
    assert _open(blob) == records


def test_a_record_over_the_stated_maximum_or_an_empty_one_is_refused_by_the_writer():
    writer = crypto.RecordWriter(io.BytesIO(), KEY.encryption, MAX)
    with pytest.raises(ValueError):
        writer.write_record(b"x" * (MAX + 1))
    with pytest.raises(ValueError):
        writer.write_record(b"")


def test_a_payload_cut_at_a_record_boundary_is_detected_as_truncated():
    blob = _seal([b"a" * 100, b"b" * 100, b"c" * 100])
    last_data_record_end = _spans(blob)[-2][1]  # everything but the final (empty) record
    with pytest.raises(CorruptCopy, match="truncated"):
        _open(blob[:last_data_record_end])


def test_a_payload_cut_inside_a_record_or_its_header_is_detected_as_truncated():
    blob = _seal([b"a" * 100, b"b" * 100])
    with pytest.raises(CorruptCopy, match="truncated"):
        _open(blob[:_spans(blob)[1][0] + 50])
    with pytest.raises(CorruptCopy, match=r"^The payload of test is truncated \(no header\)\.$"):
        _open(blob[:H - 1])


def test_swapped_or_dropped_records_are_detected():
    blob = _seal([b"first" * 10, b"second" * 10, b"third" * 10])
    (a0, a1), (b0, b1), _, _ = _spans(blob)
    swapped = blob[:a0] + blob[b0:b1] + blob[a0:a1] + blob[b1:]
    with pytest.raises(CorruptCopy, match="record 0"):
        _open(swapped)
    dropped = blob[:a0] + blob[b0:]
    with pytest.raises(CorruptCopy, match="record 0"):
        _open(dropped)


def test_another_key_or_another_files_context_cannot_open_it():
    blob = _seal([b"orders" * 100], context=b"payload of backup A")
    with pytest.raises(CorruptCopy, match="fails decryption at record 0"):
        _open(blob, keys.from_master(os.urandom(32)), context=b"payload of backup A")
    with pytest.raises(CorruptCopy, match="fails decryption at record 0"):
        _open(blob, context=b"payload of backup B")
    assert _open(blob, context=b"payload of backup A") == [b"orders" * 100]


@pytest.mark.parametrize("where", ["salt", "nonce prefix", "maximum record", "ciphertext", "tag"])
def test_a_changed_byte_anywhere_fails_decryption(where):
    blob = bytearray(_seal([os.urandom(300), os.urandom(200)]))
    first = _spans(bytes(blob))[0]
    at = {"salt": 8, "nonce prefix": 8 + crypto.SALT_BYTES, "maximum record": H - 1,
          "ciphertext": first[0] + 4 + 10, "tag": first[1] - 1}[where]
    blob[at] ^= 0x01
    with pytest.raises(CorruptCopy, match="record 0"):
        _open(bytes(blob))


def test_a_changed_record_length_is_detected():
    blob = bytearray(_seal([os.urandom(300), os.urandom(200)]))
    start = _spans(bytes(blob))[0][0]
    blob[start + 3] -= 1  # one byte shorter: the record now ends inside its tag
    with pytest.raises(CorruptCopy, match="record 0"):
        _open(bytes(blob))


def test_bytes_after_the_final_record_are_detected():
    with pytest.raises(CorruptCopy, match="after its final record"):
        _open(_seal([b"orders"]) + b"\0")


def test_the_chunk_readers_and_the_record_reader_refuse_each_others_files():
    with pytest.raises(CorruptCopy, match="not in chunks"):
        b"".join(crypto.decrypt_chunks(io.BytesIO(_seal([b"x"])), KEY.encryption, "test"))
    chunked = io.BytesIO()
    writer = crypto.EncryptingWriter(chunked, KEY.encryption, 1024)
    writer.write(b"x")
    writer.close()
    with pytest.raises(CorruptCopy, match="not in records"):
        _open(chunked.getvalue())


def test_a_payload_of_many_frames_decodes_identical_on_several_threads(tmp_path, monkeypatch):
    monkeypatch.setattr(archive, "SEGMENT", 64 * 1024)  # many frames from a small snapshot
    monkeypatch.setattr(archive, "MAX_FRAME", 64 * 1024 + 1024)
    snapshot = (os.urandom(50_000) + bytes(30_000)) * 20 + b"tail"  # 1.6 MB: 25 frames, the last one short
    sink = io.BytesIO()
    counted = archive._compress_encrypt_frames(io.BytesIO(snapshot), sink, KEY, 1, lambda n: None)
    payload = sink.getvalue()
    assert crypto.format_of(payload) == 3 and counted.size == len(payload)
    manifest = {"backup_id": "test", "payload_bytes": len(payload), "payload_sha256": counted.sha.hexdigest(),
                "snapshot_bytes": len(snapshot)}
    for durable in (False, True):  # durable: whole aligned pieces straight to the disk (O_DIRECT), the tail not
        out = tmp_path / f"restored-{durable}.db"
        archive.extract(archive.CheckedPayload(io.BytesIO(payload), manifest, "test"), manifest, KEY, out, "test",
                        show_progress=False, durable=durable)
        assert out.read_bytes() == snapshot

    with pytest.raises(CorruptCopy, match="wrong size|truncated"):  # a frame dropped: caught before use
        spans = _spans(payload)
        cut = payload[:spans[3][0]] + payload[spans[4][0]:]
        archive.extract(archive.CheckedPayload(io.BytesIO(cut), {**manifest, "payload_bytes": len(cut)}, "test"),
                        manifest, KEY, tmp_path / "cut.db", "test", show_progress=False, durable=False)


def test_a_restored_file_is_preallocated_and_a_snapshot_shorter_than_the_manifest_says_is_still_refused(tmp_path):
    snapshot = os.urandom(100_000)
    sink = io.BytesIO()
    counted = archive._compress_encrypt_frames(io.BytesIO(snapshot), sink, KEY, 1, lambda n: None)
    payload = sink.getvalue()
    manifest = {"backup_id": "test", "payload_bytes": len(payload), "payload_sha256": counted.sha.hexdigest(),
                "snapshot_bytes": len(snapshot) + 4096}  # as if a frame were missing: the file is made this big
    with pytest.raises(CorruptCopy, match="wrong size after decompression"):
        archive.extract(archive.CheckedPayload(io.BytesIO(payload), manifest, "test"), manifest, KEY,
                        tmp_path / "short.db", "test", show_progress=False, durable=False)
