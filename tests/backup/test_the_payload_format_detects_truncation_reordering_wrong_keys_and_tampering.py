"""The payload format on its own: chunked AES-GCM detects truncation, reordering, the wrong key and a
changed header, in format 2 (a key per file by HKDF from a salt in the header) as in format 1 (the
backup key itself), which stays readable; the manifest refuses newer formats and detects tampering."""
from __future__ import annotations

import base64
import io
import json
import os
from pathlib import Path

import pytest
import zstandard

from backup import crypto, keys, manifest
from backup.errors import CorruptCopy, KeyProblem, UnsupportedFormat

KEY = keys.from_master(os.urandom(32))
CHUNK = 16 * 1024
FORMATS = {1: crypto.HEADER_V1, 2: crypto.HEADER}
FORMAT1_FIXTURE = Path(__file__).parent / "data" / "format1-payload.aes"  # made by the format 1 writer


def _encrypt(plain: bytes, chunk: int = CHUNK, fmt: int = 2, context: bytes = b"") -> bytes:
    out = io.BytesIO()
    writer = crypto.EncryptingWriter(out, KEY.encryption, chunk, context, _format=fmt)
    writer.write(plain)
    writer.close()
    return out.getvalue()


def _decrypt(blob: bytes, key=KEY, context: bytes = b"") -> bytes:
    return b"".join(crypto.decrypt_chunks(io.BytesIO(blob), key.encryption, "test", context=context))


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("size", [0, 1, CHUNK - 1, CHUNK, 3 * CHUNK, 3 * CHUNK + 5])
def test_any_size_round_trips_through_chunked_encryption(size, fmt):
    plain = os.urandom(size)
    blob = _encrypt(plain, fmt=fmt)
    assert crypto.format_of(blob) == fmt
    assert _decrypt(blob) == plain


@pytest.mark.parametrize("fmt", FORMATS)
def test_a_payload_cut_at_a_chunk_boundary_is_detected_as_truncated(fmt):
    blob = _encrypt(os.urandom(3 * CHUNK + 100), fmt=fmt)
    cut = FORMATS[fmt].size + 2 * (CHUNK + crypto.TAG_BYTES)  # two whole chunks, no final one
    with pytest.raises(CorruptCopy, match="damaged or truncated"):
        _decrypt(blob[:cut])


@pytest.mark.parametrize("fmt", FORMATS)
def test_a_payload_cut_inside_its_header_is_detected_as_truncated(fmt):
    blob = _encrypt(b"orders", fmt=fmt)
    with pytest.raises(CorruptCopy, match=r"^The payload of test is truncated \(no header\)\.$"):
        _decrypt(blob[:FORMATS[fmt].size - 1])


@pytest.mark.parametrize("fmt", FORMATS)
def test_swapped_chunks_are_detected(fmt):
    blob = _encrypt(os.urandom(3 * CHUNK), fmt=fmt)
    h, block = FORMATS[fmt].size, CHUNK + crypto.TAG_BYTES
    swapped = blob[:h] + blob[h + block: h + 2 * block] + blob[h: h + block] + blob[h + 2 * block:]
    with pytest.raises(CorruptCopy, match="chunk 0"):
        _decrypt(swapped)


@pytest.mark.parametrize("fmt", FORMATS)
def test_another_key_cannot_decrypt_the_payload(fmt):
    with pytest.raises(CorruptCopy, match=r"^The payload of test fails decryption at chunk 0: it is damaged or truncated\.$"):
        _decrypt(_encrypt(b"orders" * 1000, fmt=fmt), keys.from_master(os.urandom(32)))


@pytest.mark.parametrize("field", ["salt", "nonce prefix", "chunk size"])
def test_a_changed_header_field_fails_decryption(field):
    blob = bytearray(_encrypt(os.urandom(2 * CHUNK + 7)))
    at = {"salt": 8, "nonce prefix": 8 + crypto.SALT_BYTES, "chunk size": crypto.HEADER.size - 2}[field]
    blob[at] ^= 0x01
    with pytest.raises(CorruptCopy, match="fails decryption at chunk 0"):
        _decrypt(bytes(blob))


def test_every_file_gets_its_own_salt_and_key_derived_from_the_backup_key():
    first, second = _encrypt(b"same orders"), _encrypt(b"same orders")
    salt1, salt2 = (crypto.HEADER.unpack(b[:crypto.HEADER.size])[1] for b in (first, second))
    assert len(salt1) >= 16 and salt1 != salt2
    key1 = crypto.file_key(KEY.encryption, salt1)
    assert key1 not in (KEY.encryption, crypto.file_key(KEY.encryption, salt2))
    # The file really is under its own key: the backup key itself does not open its first chunk.
    from cryptography.exceptions import InvalidTag
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM
    _, _, prefix, _ = crypto.HEADER.unpack(first[:crypto.HEADER.size])
    body, aad = first[crypto.HEADER.size:], crypto._aad(first[:crypto.HEADER.size], 0, True)
    assert AESGCM(key1).decrypt(crypto._nonce(prefix, 0), body, aad) == b"same orders"
    with pytest.raises(InvalidTag):
        AESGCM(KEY.encryption).decrypt(crypto._nonce(prefix, 0), body, aad)


def test_a_payload_made_by_the_format_1_writer_before_per_file_keys_still_decrypts():
    """The fixture was written by the format 1 code itself (one key for every file)."""
    blob = FORMAT1_FIXTURE.read_bytes()
    assert crypto.format_of(blob) == 1
    expected = b"".join(b"order %04d: 2 x green tea, paid\n" % i for i in range(100))
    assert _decrypt(blob, keys.from_master(bytes(range(32)))) == expected
    with pytest.raises(CorruptCopy, match="fails decryption at chunk 0"):
        _decrypt(blob, KEY)
    with pytest.raises(CorruptCopy, match="damaged or truncated"):
        _decrypt(blob[:-20], keys.from_master(bytes(range(32))))


def test_a_file_opened_as_another_file_fails_decryption():
    blob = _encrypt(b"transactions 5-9", context=b"0/0000000000000005-0000000000000009")
    assert _decrypt(blob, context=b"0/0000000000000005-0000000000000009") == b"transactions 5-9"
    with pytest.raises(CorruptCopy, match="fails decryption at chunk 0"):
        _decrypt(blob, context=b"0/000000000000000a-000000000000000f")


def test_a_payload_in_a_newer_format_asks_for_an_upgrade_and_a_foreign_file_is_named_as_such():
    newer = crypto.MAGIC_FAMILY + b"\x7f\x00" + _encrypt(b"x")[8:]  # 3 is today's (records): see the format 3 test
    with pytest.raises(CorruptCopy, match=r"^The payload of test is in a newer format .*upgrade the appliance\.$"):
        _decrypt(newer)
    with pytest.raises(CorruptCopy, match=r"^The payload of test is not an appliance backup payload\.$"):
        _decrypt(b"PK\x03\x04" + os.urandom(100))


def test_streamed_compression_and_encryption_round_trip_a_large_input_in_small_memory():
    plain = os.urandom(512 * 1024) * 8  # 4 MiB, compressible
    out = io.BytesIO()
    writer = crypto.EncryptingWriter(out, KEY.encryption, CHUNK)  # format 2
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
