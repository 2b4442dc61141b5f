"""The payload format on its own: chunked AES-GCM detects truncation, reordering and the wrong key;
the manifest refuses newer formats and detects tampering."""
from __future__ import annotations

import base64
import io
import json
import os

import pytest
import zstandard

from backup import crypto, keys, manifest
from backup.errors import CorruptCopy, KeyProblem, UnsupportedFormat

KEY = keys.from_master(os.urandom(32))
CHUNK = 16 * 1024


def _encrypt(plain: bytes, chunk: int = CHUNK) -> bytes:
    out = io.BytesIO()
    writer = crypto.EncryptingWriter(out, KEY.encryption, chunk)
    writer.write(plain)
    writer.close()
    return out.getvalue()


def _decrypt(blob: bytes, key=KEY) -> bytes:
    return b"".join(crypto.decrypt_chunks(io.BytesIO(blob), key.encryption, "test"))


@pytest.mark.parametrize("size", [0, 1, CHUNK - 1, CHUNK, 3 * CHUNK, 3 * CHUNK + 5])
def test_any_size_round_trips_through_chunked_encryption(size):
    plain = os.urandom(size)
    assert _decrypt(_encrypt(plain)) == plain


def test_a_payload_cut_at_a_chunk_boundary_is_detected_as_truncated():
    blob = _encrypt(os.urandom(3 * CHUNK + 100))
    cut = crypto.HEADER.size + 2 * (CHUNK + crypto.TAG_BYTES)  # two whole chunks, no final one
    with pytest.raises(CorruptCopy, match="damaged or truncated"):
        _decrypt(blob[:cut])


def test_swapped_chunks_are_detected():
    blob = _encrypt(os.urandom(3 * CHUNK))
    h, block = crypto.HEADER.size, CHUNK + crypto.TAG_BYTES
    swapped = blob[:h] + blob[h + block: h + 2 * block] + blob[h: h + block] + blob[h + 2 * block:]
    with pytest.raises(CorruptCopy, match="chunk 0"):
        _decrypt(swapped)


def test_another_key_cannot_decrypt_the_payload():
    with pytest.raises(CorruptCopy):
        _decrypt(_encrypt(b"orders" * 1000), keys.from_master(os.urandom(32)))


def test_streamed_compression_and_encryption_round_trip_a_large_input_in_small_memory():
    plain = os.urandom(512 * 1024) * 8  # 4 MiB, compressible
    out = io.BytesIO()
    writer = crypto.EncryptingWriter(out, KEY.encryption, CHUNK)
    with zstandard.ZstdCompressor().stream_writer(writer, closefd=False) as z:
        for i in range(0, len(plain), 100_000):
            z.write(plain[i:i + 100_000])
    writer.close()
    assert len(out.getvalue()) < len(plain) // 4
    restored = zstandard.ZstdDecompressor().decompressobj().decompress(_decrypt(out.getvalue()))
    assert restored == plain


def test_a_manifest_from_a_newer_format_is_refused_with_a_clear_message():
    raw = json.dumps({"format": manifest.FORMAT_VERSION + 1, "backup_id": "x"}).encode()
    with pytest.raises(UnsupportedFormat, match="upgrade the appliance"):
        manifest.parse(raw, "backup x on disk")


def test_a_changed_manifest_field_fails_its_hmac():
    signed = manifest.sign({"format": 1, "key_fingerprint": KEY.fingerprint, "counts": {"orders": 5}}, KEY)
    signed["counts"]["orders"] = 4
    with pytest.raises(CorruptCopy, match="HMAC"):
        manifest.check(signed, KEY, "backup x on disk")


def test_a_manifest_checked_with_another_key_names_the_key_problem():
    signed = manifest.sign({"format": 1, "key_fingerprint": KEY.fingerprint}, KEY)
    with pytest.raises(KeyProblem, match="was made with backup key"):
        manifest.check(signed, keys.from_master(os.urandom(32)), "backup x on disk")


def test_the_exported_key_parses_back_to_the_same_key():
    text = keys.export_text(KEY)
    assert base64.urlsafe_b64encode(KEY.master).decode() in text
    assert keys.parse(text).fingerprint == KEY.fingerprint
    with pytest.raises(KeyProblem):
        keys.parse("not a key")
