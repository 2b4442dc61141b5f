"""A local target deletes a large file a step at a time (issue 17: an unlink at once stalls the
order writer's fsyncs on ext4 with `discard`): renamed into the hidden `.deleting/` folder, truncated
under a write lease, then unlinked. A file someone else has open is unlinked at once instead, so
their copy stays whole; a leftover of an interrupted delete goes with the next delete; small files,
and files with another name, go at once. Real files, real leases, real other processes.
"""
from __future__ import annotations

import hashlib
import io
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from backup import gradual_delete
from backup.errors import MissingObject
from backup.targets import open_targets
from backup.targets.local import DELETING

from .helpers import local_target

MIB = 1024 * 1024
# A pace small enough for a test: 1 MiB steps, anything from 2 MiB on goes gradually.
STEP = MIB
AT_ONCE_BELOW = 2 * MIB
BIG = 8 * MIB + 12345  # not a whole number of steps: the last step is a short one


class Steps:
    """The `sleep` of a gradual delete: records, at each step, the sizes of the files in
    `.deleting/` and what the target lists; `also(step)` runs more at a step."""

    def __init__(self, target, also=None):
        self.target, self.also = target, also
        self.sizes: list[list[int]] = []
        self.listings: list[list[str]] = []

    def __call__(self, pause: float) -> None:
        folder = self.target.root / DELETING
        self.sizes.append(sorted(p.stat().st_size for p in folder.iterdir()))
        self.listings.append(self.target.list())
        if self.also:
            self.also(len(self.sizes))


@pytest.fixture
def target(configure, tmp_path):
    [disk] = open_targets(configure(local_target("disk", tmp_path / "disk")))
    yield disk
    disk.close()


def paced(target, **extra) -> Steps:
    steps = Steps(target, **extra)
    target.delete_pace = {"step_bytes": STEP, "at_once_below": AT_ONCE_BELOW, "sleep": steps}
    return steps


def put(target, key: str, size: int) -> bytes:
    data = os.urandom(size)
    target.put_stream(io.BytesIO(data), key)
    return data


def parked(target) -> list[Path]:
    folder = target.root / DELETING
    return sorted(folder.iterdir()) if folder.exists() else []


def test_a_large_file_shrinks_step_by_step_out_of_sight_and_is_gone_in_the_end(target, tmp_path):
    put(target, "b1/payload.zst.aes", BIG)
    put(target, "b1/manifest.json", 100)
    missing_during_delete = []

    def try_get(step: int) -> None:
        with pytest.raises(MissingObject):
            target.get("b1/payload.zst.aes", tmp_path / f"got-{step}")
        missing_during_delete.append(step)

    steps = paced(target, also=try_get)

    target.delete("b1/payload.zst.aes")

    sizes = [s[0] for s in steps.sizes]
    # One step per MiB (the last one short), each smaller than the one before, down to nothing.
    assert len(sizes) == -(-BIG // STEP)
    assert sizes == sorted(sizes, reverse=True) and len(set(sizes)) == len(sizes)
    assert sizes[0] == BIG - STEP and sizes[-1] == 0
    assert all(listing == ["b1/manifest.json"] for listing in steps.listings)
    assert missing_during_delete == list(range(1, len(sizes) + 1))
    assert target.list() == ["b1/manifest.json"] and parked(target) == []
    assert target.stat("b1/payload.zst.aes") is None


READER = """
import hashlib, sys
f = open(sys.argv[1], "rb")
print("open", flush=True)
sys.stdin.readline()  # read only once the delete is over
data = f.read()
print(len(data), hashlib.sha256(data).hexdigest(), flush=True)
"""


def test_a_file_another_process_has_open_is_unlinked_at_once_and_it_still_reads_every_byte(target):
    data = put(target, "b1/payload.zst.aes", BIG)
    reader = subprocess.Popen([sys.executable, "-c", READER, str(target.root / "b1/payload.zst.aes")],
                              stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        assert reader.stdout.readline().strip() == "open"
        steps = paced(target)

        target.delete("b1/payload.zst.aes")

        assert steps.sizes == []  # not one truncation step: the lease was refused
        assert target.list() == [] and parked(target) == []
        out, _ = reader.communicate("go\n", timeout=30)
    finally:
        reader.kill()
    assert out.split() == [str(len(data)), hashlib.sha256(data).hexdigest()]


OPENER = """
import sys, time
started = time.monotonic()
with open(sys.argv[1], "rb") as f:
    print(round(time.monotonic() - started, 3), len(f.read()), flush=True)
"""


def test_someone_opening_the_file_while_it_shrinks_is_let_in_within_a_step_and_no_signal_kills_the_delete(target):
    put(target, "b1/payload.zst.aes", BIG)
    opener: list[subprocess.Popen] = []

    def open_it_at_step_two(step: int) -> None:
        if step != 2:
            return
        [file] = parked(target)  # someone walking the hidden folder (a copy of the whole disk)
        opener.append(subprocess.Popen([sys.executable, "-c", OPENER, str(file)], stdout=subprocess.PIPE, text=True))
        # Returns once the kernel has the opener waiting on the lease (SIGIO by default would have
        # killed this very test process by now).
        inode = file.stat().st_ino
        deadline = time.monotonic() + 20
        while not any(f":{inode} " in line and "BREAK" in line for line in Path("/proc/locks").read_text().splitlines()):
            assert time.monotonic() < deadline, "the opener never reached the lease"
            time.sleep(0.01)

    steps = paced(target, also=open_it_at_step_two)

    target.delete("b1/payload.zst.aes")

    assert len(steps.sizes) == 2  # it let go at the next step instead of shrinking on
    out, _ = opener[0].communicate(timeout=30)
    waited, size = out.split()
    assert float(waited) < 10  # not the kernel's 45 s lease-break time
    assert int(size) == BIG - 2 * STEP  # what was left when it let go
    assert target.list() == [] and parked(target) == []


def test_a_leftover_of_an_interrupted_delete_is_freed_by_the_next_delete(target):
    put(target, "b1/manifest.json", 100)
    put(target, "b2/manifest.json", 100)
    # What a delete killed after its rename leaves: a file in the hidden folder, never listed.
    (target.root / DELETING).mkdir()
    (target.root / DELETING / "0123abcd-payload.zst.aes").write_bytes(os.urandom(4 * MIB))
    assert target.list() == ["b1/manifest.json", "b2/manifest.json"]
    steps = paced(target)

    target.delete("b1/manifest.json")

    assert [s[0] for s in steps.sizes] == [3 * MIB, 2 * MIB, MIB, 0]
    assert parked(target) == []
    assert target.list() == ["b2/manifest.json"]


def test_small_files_go_at_once_without_a_hidden_folder(target):
    put(target, "b1/manifest.json", AT_ONCE_BELOW - 1)
    put(target, "b1/payload.zst.aes", 1000)
    steps = paced(target)

    target.delete("b1/manifest.json")
    target.delete("b1/payload.zst.aes")

    assert steps.sizes == [] and target.list() == []
    assert not (target.root / DELETING).exists()


@pytest.mark.parametrize("link", ["hard link", "symlink"])
def test_a_file_with_another_name_is_unlinked_and_the_other_name_keeps_every_byte(target, tmp_path, link):
    elsewhere = tmp_path / "elsewhere"
    data = os.urandom(BIG)
    elsewhere.write_bytes(data)
    (target.root / "b1").mkdir(parents=True)
    if link == "hard link":
        os.link(elsewhere, target.root / "b1/payload.zst.aes")
    else:
        (target.root / "b1/payload.zst.aes").symlink_to(elsewhere)
    steps = paced(target)

    target.delete("b1/payload.zst.aes")

    assert steps.sizes == [] and target.list() == []
    assert elsewhere.read_bytes() == data


def test_a_file_that_cannot_be_moved_aside_is_unlinked_at_once_and_nothing_else_goes(target):
    # A key named like the hidden folder (a file, not a folder: it lists): the rename cannot be
    # made, the file to delete is unlinked as before, and that key stays.
    put(target, DELETING, 10)
    put(target, "b1/payload.zst.aes", BIG)
    steps = paced(target)

    target.delete("b1/payload.zst.aes")

    assert steps.sizes == []
    assert target.list() == [DELETING]


def test_remove_is_quiet_about_a_missing_file(tmp_path):
    gradual_delete.remove(tmp_path / "never-made", tmp_path / DELETING)

    assert list(tmp_path.iterdir()) == []
