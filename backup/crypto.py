"""AES-256-GCM in chunks, so memory stays flat whatever the size; a key of its own for every file.

Format 2 (written since issue 16): header = MAGIC (8) + salt (32 random bytes) + nonce prefix (8 random
bytes) + chunk size (4, big-endian); then each chunk's ciphertext + 16-byte tag. The file's key is
HKDF-SHA256(backup encryption key, salt, info "store-appliance sealed file v2"): with one key per file
the 96-bit nonces (prefix + 4-byte chunk counter) never repeat under a key, however many files the
box seals (format 1 put every file under the one key with a 64-bit random prefix: at ~2^25 replica
files a year, the chance of a repeated nonce passed NIST's 2^-32 bound).

Format 1 (read only): header = MAGIC_V1 (8) + nonce prefix (8) + chunk size (4); the backup
encryption key itself.

In both, the AAD binds the header, an optional context (what the caller says the file is, e.g. a
replica file's name: a file renamed or swapped for another fails), the chunk index and a
final-chunk flag: reordered, dropped, duplicated or truncated chunks all fail. Every chunk holds
exactly `chunk_size` plaintext bytes except the final one (which may be empty).

Format 3 (backup payloads since issue 11): the format 2 header (MAGIC_V3, the largest record's
plaintext in place of the chunk size), then records of any size up to that, each as a 4-byte
big-endian length of its ciphertext + tag, then the ciphertext + tag; an empty final record ends the
file. The AAD also binds each record's length. A record is what the writer hands over as one piece
(backup/archive.py: one zstd frame of a fixed slice of the snapshot), so a reader can hand records
to several threads and place their output by itself, where formats 1 and 2 are one stream to be
decoded in order.
"""
from __future__ import annotations

import os
import struct
from typing import BinaryIO, Callable, Iterator

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from .errors import CorruptCopy

MAGIC_FAMILY = b"SAPBK\x00"
MAGIC = b"SAPBK\x00\x02\x00"      # format 2: a key per file
MAGIC_V1 = b"SAPBK\x00\x01\x00"   # format 1: the backup key itself (read only)
MAGIC_V3 = b"SAPBK\x00\x03\x00"   # format 3: records of any size (a zstd frame each), a key per file
RECORD_LENGTH = struct.Struct(">I")
HEADER = struct.Struct(">8s32s8sI")
HEADER_V1 = struct.Struct(">8s8sI")
SALT_BYTES = 32
TAG_BYTES = 16
MAX_CHUNK = 64 * 1024 * 1024
FILE_KEY_INFO = b"store-appliance sealed file v2"


def file_key(key: bytes, salt: bytes) -> bytes:
    """The key of one format-2 file: HKDF-SHA256 of the backup encryption key with the file's salt."""
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=salt, info=FILE_KEY_INFO).derive(key)


def _aad(header: bytes, index: int, final: bool, context: bytes = b"", length: int | None = None) -> bytes:
    if context:
        header += struct.pack(">I", len(context)) + context
    aad = header + struct.pack(">QB", index, 1 if final else 0)
    return aad if length is None else aad + RECORD_LENGTH.pack(length)  # format 3 binds each record's length


def _nonce(prefix: bytes, index: int) -> bytes:
    if index >= 2**32:
        raise ValueError("too many chunks for one nonce prefix")
    return prefix + struct.pack(">I", index)


class EncryptingWriter:
    """A write-only file object: plaintext in, encrypted chunks out to `sink` (format 2).

    Plaintext is gathered into one chunk-sized buffer and each chunk is encrypted into another
    (AESGCM.encrypt_into), both reused: one copy of each byte in, no allocation per chunk. So
    `sink.write` gets a view of that reused buffer and must consume it before returning, as files,
    BytesIO and stream.GrowingFile do. `context` (bytes) is bound into every chunk's AAD; the reader
    must pass the same. `_format=1` writes the old format (kept for tests of old files only).
    """

    def __init__(self, sink: BinaryIO, key: bytes, chunk_size: int, context: bytes = b"", *, _format: int = 2):
        self._sink = sink
        self._chunk_size = chunk_size
        self._prefix = os.urandom(8)
        self._context = context
        if _format == 1:
            self._header = HEADER_V1.pack(MAGIC_V1, self._prefix, chunk_size)
            self._aes, self._context = AESGCM(key), b""  # as the old writer did
        else:
            salt = os.urandom(SALT_BYTES)
            self._header = HEADER.pack(MAGIC, salt, self._prefix, chunk_size)
            self._aes = AESGCM(file_key(key, salt))
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
                               _aad(self._header, self._index, final, self._context), sealed)
        self._sink.write(sealed)
        self._filled = 0
        self._index += 1

    def flush(self) -> None:
        pass

    def close(self) -> None:
        if not self._closed:
            self._emit(final=True)
            self._closed = True


class RecordWriter:
    """Format 3: each `write_record(plaintext)` is sealed as one record of its own size (up to
    `max_record` bytes); `close()` writes the empty final record. `context` as for EncryptingWriter."""

    def __init__(self, sink: BinaryIO, key: bytes, max_record: int, context: bytes = b""):
        if not 0 < max_record <= MAX_CHUNK:
            raise ValueError(f"a record of up to {max_record} bytes is not allowed")
        self._sink, self._max, self._context = sink, max_record, context
        self._prefix = os.urandom(8)
        salt = os.urandom(SALT_BYTES)
        self._header = HEADER.pack(MAGIC_V3, salt, self._prefix, max_record)
        self._aes = AESGCM(file_key(key, salt))
        self._index = 0
        self._closed = False
        sink.write(self._header)

    def write_record(self, plain, final: bool = False) -> None:
        if not plain and not final:
            raise ValueError("only the final record is empty")  # how a reader knows it is the final one
        if len(plain) > self._max:
            raise ValueError(f"a record of {len(plain)} bytes is over this file's {self._max}")
        aad = _aad(self._header, self._index, final, self._context, len(plain) + TAG_BYTES)
        sealed = self._aes.encrypt(_nonce(self._prefix, self._index), plain, aad)
        self._sink.write(RECORD_LENGTH.pack(len(sealed)))
        self._sink.write(sealed)
        self._index += 1

    def close(self) -> None:
        if not self._closed:
            self.write_record(b"", final=True)
            self._closed = True


def format_of(head: bytes) -> int | None:
    """The format of a sealed file from its first bytes (1, 2, 3), or None when it is not one."""
    return {MAGIC: 2, MAGIC_V1: 1, MAGIC_V3: 3}.get(head[:8])


class SealedHeader:
    """A sealed file's header, read (`read_header`) before its body: `format` says which reader follows."""

    def __init__(self, raw: bytes, key: bytes, context: bytes):
        self.raw, self.format = raw, format_of(raw)
        if self.format == 1:
            _, self.prefix, self.size = HEADER_V1.unpack(raw)
            self.key, self.context = key, b""  # format 1 bound no context
        else:
            _, salt, self.prefix, self.size = HEADER.unpack(raw)
            self.key, self.context = file_key(key, salt), context


def read_header(source: BinaryIO, key: bytes, where: str, on_read: Callable[[bytes], None] | None = None,
                context: bytes = b"") -> SealedHeader:
    """The header of a format 1, 2 or 3 file; CorruptCopy when it is truncated, foreign or newer."""
    magic = _read(source, 8, on_read)
    if magic in (MAGIC, MAGIC_V3):
        layout = HEADER
    elif magic == MAGIC_V1:
        layout = HEADER_V1
    elif len(magic) < 8:
        raise CorruptCopy(f"The payload of {where} is truncated (no header).")
    elif magic.startswith(MAGIC_FAMILY):
        raise CorruptCopy(f"The payload of {where} is in a newer format than this appliance reads: "
                          "upgrade the appliance.")
    else:
        raise CorruptCopy(f"The payload of {where} is not an appliance backup payload.")
    raw = magic + _read(source, layout.size - 8, on_read)
    if len(raw) < layout.size:
        raise CorruptCopy(f"The payload of {where} is truncated (no header).")
    header = SealedHeader(raw, key, context)
    if not 0 < header.size <= MAX_CHUNK:
        raise CorruptCopy(f"The payload of {where} is not an appliance backup payload.")
    return header


def decrypt_records(source: BinaryIO, header: SealedHeader, where: str,
                    on_read: Callable[[bytes], None] | None = None) -> Iterator[bytes]:
    """Yields the plaintext of each record of a format 3 file after `header` (not the empty final
    one); raises CorruptCopy on any tampering, reordering or truncation, or bytes after the end."""
    if header.format != 3:
        raise CorruptCopy(f"The payload of {where} is in format {header.format}, not in records.")
    aes = AESGCM(header.key)
    index = 0
    while True:
        length = _read(source, RECORD_LENGTH.size, on_read)
        if len(length) < RECORD_LENGTH.size:
            raise CorruptCopy(f"The payload of {where} is truncated after record {index - 1}.")
        (size,) = RECORD_LENGTH.unpack(length)
        if not TAG_BYTES <= size <= header.size + TAG_BYTES:
            raise CorruptCopy(f"The payload of {where} fails decryption at record {index}: it is damaged.")
        sealed = _read(source, size, on_read)
        if len(sealed) < size:
            raise CorruptCopy(f"The payload of {where} is truncated in record {index}.")
        final = size == TAG_BYTES  # only the final record is empty: the AAD holds the writer to it
        try:
            plain = aes.decrypt(_nonce(header.prefix, index), sealed, _aad(header.raw, index, final, header.context, size))
        except InvalidTag:
            raise CorruptCopy(f"The payload of {where} fails decryption at record {index}: "
                              "it is damaged, truncated or out of order.") from None
        if final:
            if source.read(1):
                raise CorruptCopy(f"The payload of {where} has bytes after its final record.")
            return
        yield plain
        index += 1


def decrypt_chunks(source: BinaryIO, key: bytes, where: str,
                   on_read: Callable[[bytes], None] | None = None, context: bytes = b"",
                   header: SealedHeader | None = None) -> Iterator[bytes]:
    """Yields plaintext chunks of a format 1 or 2 file; raises CorruptCopy on any tampering or truncation.
    `header`: already read from `source` by `read_header`."""
    header = header or read_header(source, key, where, on_read, context)
    if header.format == 3:
        raise CorruptCopy(f"The payload of {where} is in records (format 3), not in chunks.")
    chunk_size, prefix, context = header.size, header.prefix, header.context
    aes, raw = AESGCM(header.key), header.raw
    block = chunk_size + TAG_BYTES
    index = 0
    current = _read(source, block, on_read)
    while True:
        following = _read(source, block, on_read) if len(current) == block else b""
        final = not following
        if len(current) < TAG_BYTES:
            raise CorruptCopy(f"The payload of {where} is truncated.")
        try:
            yield aes.decrypt(_nonce(prefix, index), current, _aad(raw, index, final, context))
        except InvalidTag:
            raise CorruptCopy(f"The payload of {where} fails decryption at chunk {index}: "
                              "it is damaged or truncated.") from None
        if final:
            return
        current, index = following, index + 1


def _read(source: BinaryIO, size: int, on_read) -> bytes:
    data = source.read(size)  # whole in one read from a file or a TailReader: no copy
    if len(data) < size and data:
        gathered = bytearray(data)
        while len(gathered) < size and (piece := source.read(size - len(gathered))):
            gathered += piece
        data = bytes(gathered)
    if on_read and data:
        on_read(data)
    return data
