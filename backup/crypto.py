"""AES-256-GCM in chunks, so memory stays flat whatever the size.

Layout: header = MAGIC (8) + nonce prefix (8 random bytes) + chunk size (4, big-endian); then each
chunk's ciphertext + 16-byte tag. Nonce = prefix + 4-byte chunk counter. The AAD binds the header,
the chunk index and a final-chunk flag: reordered, dropped, duplicated or truncated chunks all fail.
Every chunk holds exactly `chunk_size` plaintext bytes except the final one (which may be empty).
"""
from __future__ import annotations

import os
import struct
from typing import BinaryIO, Callable, Iterator

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from .errors import CorruptCopy

MAGIC = b"SAPBK\x00\x01\x00"
HEADER = struct.Struct(">8s8sI")
TAG_BYTES = 16
MAX_CHUNK = 64 * 1024 * 1024


def _aad(header: bytes, index: int, final: bool) -> bytes:
    return header + struct.pack(">QB", index, 1 if final else 0)


def _nonce(prefix: bytes, index: int) -> bytes:
    if index >= 2**32:
        raise ValueError("too many chunks for one nonce prefix")
    return prefix + struct.pack(">I", index)


class EncryptingWriter:
    """A write-only file object: plaintext in, encrypted chunks out to `sink`.

    Plaintext is gathered into one chunk-sized buffer and each chunk is encrypted into another
    (AESGCM.encrypt_into), both reused: one copy of each byte in, no allocation per chunk. So
    `sink.write` gets a view of that reused buffer and must consume it before returning, as files,
    BytesIO and stream.GrowingFile do.
    """

    def __init__(self, sink: BinaryIO, key: bytes, chunk_size: int):
        self._sink = sink
        self._aes = AESGCM(key)
        self._chunk_size = chunk_size
        self._prefix = os.urandom(8)
        self._header = HEADER.pack(MAGIC, self._prefix, chunk_size)
        self._plain = bytearray(chunk_size)
        self._filled = 0
        self._sealed = bytearray(chunk_size + TAG_BYTES)
        self._index = 0
        self._closed = False
        sink.write(self._header)

    def write(self, data) -> int:
        view = memoryview(data).cast("B")
        size = len(view)
        while view:
            if self._filled == self._chunk_size:
                # A full chunk is emitted only once more data follows: only close() knows which
                # chunk is the final one.
                self._emit(final=False)
            take = min(len(view), self._chunk_size - self._filled)
            self._plain[self._filled:self._filled + take] = view[:take]
            self._filled += take
            view = view[take:]
        return size

    def _emit(self, final: bool) -> None:
        sealed = memoryview(self._sealed)[: self._filled + TAG_BYTES]
        self._aes.encrypt_into(_nonce(self._prefix, self._index), memoryview(self._plain)[: self._filled],
                               _aad(self._header, self._index, final), sealed)
        self._sink.write(sealed)
        self._filled = 0
        self._index += 1

    def flush(self) -> None:
        pass

    def close(self) -> None:
        if not self._closed:
            self._emit(final=True)
            self._closed = True


def decrypt_chunks(source: BinaryIO, key: bytes, where: str,
                   on_read: Callable[[bytes], None] | None = None) -> Iterator[bytes]:
    """Yields plaintext chunks; raises CorruptCopy on any tampering or truncation."""
    header = _read(source, HEADER.size, on_read)
    if len(header) < HEADER.size:
        raise CorruptCopy(f"The payload of {where} is truncated (no header).")
    magic, prefix, chunk_size = HEADER.unpack(header)
    if magic != MAGIC or not 0 < chunk_size <= MAX_CHUNK:
        raise CorruptCopy(f"The payload of {where} is not an appliance backup payload.")
    aes = AESGCM(key)
    block = chunk_size + TAG_BYTES
    index = 0
    current = _read(source, block, on_read)
    while True:
        following = _read(source, block, on_read) if len(current) == block else b""
        final = not following
        if len(current) < TAG_BYTES:
            raise CorruptCopy(f"The payload of {where} is truncated.")
        try:
            yield aes.decrypt(_nonce(prefix, index), current, _aad(header, index, final))
        except InvalidTag:
            raise CorruptCopy(f"The payload of {where} fails decryption at chunk {index}: "
                              "it is damaged or truncated.") from None
        if final:
            return
        current, index = following, index + 1


def _read(source: BinaryIO, size: int, on_read) -> bytes:
    data = bytearray()
    while len(data) < size:
        piece = source.read(size - len(data))
        if not piece:
            break
        data += piece
    if on_read and data:
        on_read(bytes(data))
    return bytes(data)
