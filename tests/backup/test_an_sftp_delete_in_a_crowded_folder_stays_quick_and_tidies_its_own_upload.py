"""Deleting a key on an SFTP target removes that key and its own unfinished upload, and the folder
once it is empty, without reading the folder: the replica's level folders hold hundreds of files and
Litestream retires one a second, and a delete that listed its folder twice made the shipper fall
minutes behind under load (issue 17 soak: lag 245 s, 949 files left on the server)."""
from __future__ import annotations

import io
import time

from backup.targets import open_targets

from .helpers import sftp_target


def test_a_delete_takes_its_key_and_its_partial_and_the_emptied_folder(configure, sshd_server):
    target = open_targets(configure(sftp_target("nas", sshd_server, "tidy")))[0]
    try:
        target.put_stream(io.BytesIO(b"x"), "b1/payload.zst.aes")
        folder = sshd_server.root / "tidy" / "b1"
        (folder / ".payload.zst.aes.partial").write_bytes(b"half")  # a retry's unfinished upload

        target.delete("b1/payload.zst.aes")

        assert not folder.exists()
        assert target.list() == []
    finally:
        target.close()


def test_deleting_a_crowded_folder_key_by_key_costs_no_more_per_key_than_a_small_one(configure, sshd_server):
    target = open_targets(configure(sftp_target("nas", sshd_server, "crowded")))[0]
    try:
        folder = sshd_server.root / "crowded" / "0"
        folder.mkdir(parents=True)
        for i in range(1500):  # as Litestream's level 0 holds after minutes of writing (written here directly)
            (folder / f"{i:016x}-{i:016x}.ltx.aes").write_bytes(b"x")
        target.put_stream(io.BytesIO(b"x"), "small/only.aes")

        def seconds_per_delete(keys: list[str]) -> float:
            started = time.perf_counter()
            for key in keys:
                target.delete(key)
            return (time.perf_counter() - started) / len(keys)

        small = seconds_per_delete(["small/only.aes"] + [f"small/missing-{i}.aes" for i in range(19)])
        crowded = seconds_per_delete([f"0/{i:016x}-{i:016x}.ltx.aes" for i in range(20)])

        assert len(list(folder.iterdir())) == 1480
        # listing 1500 names twice per delete took ~40x a delete in a small folder; now the same order
        assert crowded < 5 * small + 0.005, (crowded, small)
    finally:
        target.close()
