"""The encrypted payload's chunk layout does not depend on how the plaintext was written: every
chunk holds exactly chunk_size plaintext bytes except the final one, whatever the sizes and types
of the writes (EncryptingWriter gathers into a reused buffer), and a caller may reuse its own
buffer right after write() returns. Older payloads (one chunk held back, then the rest) decrypt."""
from __future__ import annotations

import io
import os

import pytest

from backup import crypto, keys

KEY = keys.from_master(os.urandom(32))
CHUNK = 4096


def _chunks(blob: bytes) -> list[int]:
    """Ciphertext sizes (plaintext + tag) of each chunk after the header."""
    body = blob[crypto.HEADER.size:]
    block = CHUNK + crypto.TAG_BYTES
    return [len(body[i:i + block]) for i in range(0, len(body), block)] or [0]


@pytest.mark.parametrize("pattern", [[1], [CHUNK - 1], [CHUNK], [CHUNK + 1], [3 * CHUNK + 7], [17, 4000, 9000, 1]])
@pytest.mark.parametrize("total", [0, 1, CHUNK, 2 * CHUNK, 5 * CHUNK + 123])
def test_layout_and_content_do_not_depend_on_write_sizes(pattern, total):
    plain = os.urandom(total)
    out = io.BytesIO()
    writer = crypto.EncryptingWriter(out, KEY.encryption, CHUNK)
    reused = bytearray(max(pattern))
    offset, i = 0, 0
    while offset < total:
        n = min(pattern[i % len(pattern)], total - offset)
        reused[:n] = plain[offset:offset + n]
        writer.write(memoryview(reused)[:n] if i % 2 else bytes(reused[:n]))
        reused[:n] = b"\0" * n  # the writer copied it: overwriting the caller's buffer changes nothing
        offset, i = offset + n, i + 1
    writer.close()
    blob = out.getvalue()
    assert b"".join(crypto.decrypt_chunks(io.BytesIO(blob), KEY.encryption, "test")) == plain
    sizes = _chunks(blob)
    full, final = sizes[:-1], sizes[-1]
    assert all(s == CHUNK + crypto.TAG_BYTES for s in full)
    expected_final = 0 if total == 0 else (total - 1) % CHUNK + 1  # a final chunk is never empty unless all is
    assert final == expected_final + crypto.TAG_BYTES
    assert len(sizes) == max(1, -(-total // CHUNK))


def test_a_payload_written_by_the_previous_writer_still_decrypts():
    """The previous EncryptingWriter (bytearray buffer, AESGCM.encrypt per chunk, format 1: the
    backup key itself) made the same layout; built here by hand with the same nonce and AAD rules."""
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM

    plain = os.urandom(3 * CHUNK + 5)
    prefix = os.urandom(8)
    header = crypto.HEADER_V1.pack(crypto.MAGIC_V1, prefix, CHUNK)
    aes = AESGCM(KEY.encryption)
    pieces = [plain[i:i + CHUNK] for i in range(0, len(plain), CHUNK)]
    blob = header + b"".join(
        aes.encrypt(crypto._nonce(prefix, i), p, crypto._aad(header, i, i == len(pieces) - 1))
        for i, p in enumerate(pieces))
    assert b"".join(crypto.decrypt_chunks(io.BytesIO(blob), KEY.encryption, "test")) == plain
