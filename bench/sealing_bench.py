"""Sealing benchmark (issue 16): throughput of backup/crypto.py's chunked AES-256-GCM, format 1 (one
key for every file) against format 2 (a key per file by HKDF-SHA256 from a random salt), for one large
payload (the 1 GB backup's case, 1 MiB chunks as backups use by default; see --chunk-kib) and for
many small files (the replica's case: Litestream's level-0 files are a few KB), plus the cost of one
HKDF derivation. Times are CPU seconds of this process (best of --rounds, the formats interleaved), so
other work on a shared machine disturbs them less than wall-clock times.

    .venv/bin/python -m bench.sealing_bench                  # 256 MiB payload, 5000 files of 4 KiB
    .venv/bin/python -m bench sealing -- --size-mb 1024      # the 1 GB case
"""
from __future__ import annotations

import argparse
import io
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from backup import crypto, keys

MIB = 1024 * 1024


class _Null:
    def write(self, data) -> int:
        return len(data)


clock = time.process_time


def _seal_large(key: bytes, block: bytes, blocks: int, chunk: int, fmt: int) -> float:
    started = clock()
    writer = crypto.EncryptingWriter(_Null(), key, chunk, _format=fmt)
    for _ in range(blocks):
        writer.write(block)
    writer.close()
    return clock() - started


def _unseal_large(key: bytes, blob: bytes) -> float:
    started = clock()
    for _ in crypto.decrypt_chunks(io.BytesIO(blob), key, "bench"):
        pass
    return clock() - started


def _small_files(key: bytes, plain: bytes, count: int, fmt: int) -> tuple[float, float]:
    sealed = []
    started = clock()
    for i in range(count):
        out = io.BytesIO()
        writer = crypto.EncryptingWriter(out, key, MIB, b"0/%016x" % i, _format=fmt)
        writer.write(plain)
        writer.close()
        sealed.append(out.getvalue())
    seal_s = clock() - started
    started = clock()
    for i, blob in enumerate(sealed):
        b"".join(crypto.decrypt_chunks(io.BytesIO(blob), key, "bench", context=b"0/%016x" % i))
    return seal_s, clock() - started


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--size-mb", type=int, default=256)
    parser.add_argument("--chunk-kib", type=int, default=1024)
    parser.add_argument("--files", type=int, default=5000)
    parser.add_argument("--file-kib", type=int, default=4)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args(argv)
    key = keys.from_master(os.urandom(32)).encryption
    chunk = args.chunk_kib * 1024
    block = os.urandom(4 * MIB)
    blocks = max(1, args.size_mb // 4)
    size = blocks * len(block)
    small = os.urandom(args.file_kib * 1024)
    print(f"sealing benchmark: {size // MIB} MiB payload in {args.chunk_kib} KiB chunks; "
          f"{args.files} files of {args.file_kib} KiB")
    best: dict[tuple[int, str], float] = {}

    def keep(fmt: int, what: str, seconds: float) -> None:
        best[fmt, what] = min(best.get((fmt, what), float("inf")), seconds)

    for _ in range(args.rounds):
        for fmt in (1, 2):
            keep(fmt, "seal", _seal_large(key, block, blocks, chunk, fmt))
            out = io.BytesIO()
            writer = crypto.EncryptingWriter(out, key, chunk, _format=fmt)
            for _ in range(min(blocks, 64)):  # unseal a bounded blob (memory), scaled
                writer.write(block)
            writer.close()
            keep(fmt, "unseal", _unseal_large(key, out.getvalue()) * blocks / min(blocks, 64))
            files_seal, files_unseal = _small_files(key, small, args.files, fmt)
            keep(fmt, "files seal", files_seal)
            keep(fmt, "files unseal", files_unseal)
    for fmt in (1, 2):
        label = "format 1 (one key)" if fmt == 1 else "format 2 (HKDF key per file)"
        print(f"{label:30} seal {size / MIB / best[fmt, 'seal']:7.0f} MiB/s  "
              f"unseal {size / MIB / best[fmt, 'unseal']:7.0f} MiB/s  small files: seal "
              f"{args.files / best[fmt, 'files seal']:7.0f}/s  unseal {args.files / best[fmt, 'files unseal']:7.0f}/s")
    salts = [os.urandom(crypto.SALT_BYTES) for _ in range(10_000)]
    started = clock()
    for salt in salts:
        crypto.file_key(key, salt)
    per = (clock() - started) / len(salts)
    print(f"one HKDF-SHA256 derivation (once per file): {per * 1e6:.1f} µs CPU = "
          f"{per / best[2, 'seal'] * 100:.5f} % of sealing the {size // MIB} MiB payload")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
